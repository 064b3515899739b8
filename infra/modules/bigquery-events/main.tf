# The bigquery-sink's dataset and table: partitioned by day on the Pub/Sub publish time and
# clustered as the sink's queries filter, plus the view with one row per message id (the same
# query as @tributary/bqstore's dedupViewQuery: insertAll de-duplicates on a best-effort basis).

terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

variable "project_id" {
  description = "Project of the dataset."
  type        = string
}

variable "dataset_id" {
  description = "Dataset id (the sink's BIGQUERY_DATASET)."
  type        = string
}

variable "table_id" {
  description = "Table id (the sink's BIGQUERY_TABLE)."
  type        = string
}

variable "location" {
  description = "Dataset location (the sink's BIGQUERY_LOCATION)."
  type        = string
}

variable "schema_json" {
  description = "Table schema as BigQuery JSON, including the columns of the sink's MAPPING_FILE."
  type        = string
}

variable "partition_field" {
  description = "TIMESTAMP column to partition by day (the sink's PARTITION_FIELD)."
  type        = string
  default     = "publish_time"
}

variable "partition_expiration_days" {
  description = "Days a partition is kept; 0 keeps them forever."
  type        = number
  default     = 0
}

variable "clustering_fields" {
  description = "Up to four clustering columns (the sink's CLUSTERING_FIELDS)."
  type        = list(string)
  default     = ["device_id", "event_type"]

  validation {
    condition     = length(var.clustering_fields) <= 4
    error_message = "BigQuery clusters by four columns at most."
  }
}

variable "dedup_view_id" {
  description = "Id of the de-duplicating view; empty for none."
  type        = string
  default     = ""
}

variable "message_id_column" {
  description = "The column holding the Pub/Sub message id (messageIdColumn of MAPPING_FILE)."
  type        = string
  default     = "message_id"
}

variable "deletion_protection" {
  description = "Refuse to destroy the table."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the dataset and table."
  type        = map(string)
  default     = {}
}

resource "google_bigquery_dataset" "this" {
  project    = var.project_id
  dataset_id = var.dataset_id
  location   = var.location
  labels     = var.labels
}

resource "google_bigquery_table" "events" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = var.table_id
  schema              = var.schema_json
  clustering          = var.clustering_fields
  deletion_protection = var.deletion_protection
  labels              = var.labels

  time_partitioning {
    type          = "DAY"
    field         = var.partition_field
    expiration_ms = var.partition_expiration_days > 0 ? var.partition_expiration_days * 86400000 : null
  }
}

resource "google_bigquery_table" "dedup" {
  count               = var.dedup_view_id == "" ? 0 : 1
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = var.dedup_view_id
  deletion_protection = false
  labels              = var.labels

  view {
    use_legacy_sql = false
    query          = "SELECT * EXCEPT (_dedup_rank) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY `${var.message_id_column}` ORDER BY `${var.message_id_column}`) AS _dedup_rank FROM `${var.project_id}.${google_bigquery_dataset.this.dataset_id}.${google_bigquery_table.events.table_id}`) WHERE _dedup_rank = 1"
  }
}

output "dataset_id" {
  description = "Dataset id."
  value       = google_bigquery_dataset.this.dataset_id
}

output "table_id" {
  description = "Table id."
  value       = google_bigquery_table.events.table_id
}

output "table" {
  description = "project.dataset.table of the events table."
  value       = "${var.project_id}.${google_bigquery_dataset.this.dataset_id}.${google_bigquery_table.events.table_id}"
}
