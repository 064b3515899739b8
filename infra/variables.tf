variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Artifact Registry, Memorystore and the bucket."
  type        = string
  default     = "europe-west1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, subscriptions, services, accounts)."
  type        = string
  default     = "tributary-"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.name_prefix))
    error_message = "name_prefix must be at most 12 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "image_tag" {
  description = "Tag of the images in Artifact Registry (docker build -t REGION-docker.pkg.dev/PROJECT/REPO/APP:TAG)."
  type        = string
  default     = "latest"
}

variable "artifact_repository" {
  description = "Artifact Registry repository id for the images."
  type        = string
  default     = "tributary"
}

variable "log_level" {
  description = "LOG_LEVEL of every app (trace, debug, info, warn, error, fatal)."
  type        = string
  default     = "info"
}

variable "max_delivery_attempts" {
  description = "Deliveries before a message goes to the dead-letter topic, for every subscription; apps with MAX_DELIVERY_ATTEMPTS get the same number."
  type        = number
  default     = 10
}

variable "ack_deadline_seconds" {
  description = "First ack deadline of every subscription (the consumers extend leases themselves)."
  type        = number
  default     = 60
}

variable "subscription_filters" {
  description = "Optional filter per consuming app (archiver, enrichment, bigquery-sink, sql-sink), e.g. { archiver = \"attributes.type = \\\"telemetry\\\"\" }."
  type        = map(string)
  default     = {}
}

variable "max_instances" {
  description = "Cloud Run max instances per app. ingestion is fixed at one instance (see README)."
  type        = map(number)
  default = {
    enrichment      = 10
    "bigquery-sink" = 5
    archiver        = 3
    "http-ingest"   = 20
    "sql-sink"      = 3
  }
}

variable "min_instances" {
  description = "Cloud Run min instances per app (pull subscribers need at least one to make progress)."
  type        = map(number)
  default = {
    enrichment      = 1
    "bigquery-sink" = 1
    archiver        = 1
    "http-ingest"   = 0
    "sql-sink"      = 1
  }
}

variable "concurrency" {
  description = "Cloud Run requests per instance at once, per app (only http-ingest serves traffic; the others serve probes and /metrics)."
  type        = map(number)
  default = {
    ingestion       = 10
    enrichment      = 10
    "bigquery-sink" = 10
    archiver        = 10
    "http-ingest"   = 250
    "sql-sink"      = 10
  }
}

variable "mqtt_url" {
  description = "MQTT broker the ingestion app subscribes to (mqtts://broker.example.com:8883)."
  type        = string
}

variable "mqtt_username" {
  description = "MQTT username of the ingestion app; empty for none."
  type        = string
  default     = ""
}

variable "mqtt_password_secret" {
  description = "Secret Manager secret id holding the MQTT password; empty for none."
  type        = string
  default     = ""
}

variable "ingestion_routes_secret" {
  description = "Secret Manager secret id holding the ingestion routes YAML (apps/ingestion/routes.example.yaml is the format; destinations must be the raw topic)."
  type        = string
  default     = "tributary-ingestion-routes"
}

variable "enrichment_lookups_secret" {
  description = "Secret Manager secret id holding the enrichment lookups YAML (infra/config/lookups.firestore.yaml reads the registry from Firestore); empty to use the file-based example bundled in the image."
  type        = string
  default     = "tributary-enrichment-lookups"
}

variable "http_ingest_api_keys_secret" {
  description = "Secret Manager secret id holding http-ingest's API_KEYS (SHA-256 hex digests, comma-separated); empty to rely on Cloud Run IAM (OIDC) instead."
  type        = string
  default     = "tributary-http-ingest-api-keys"
}

variable "http_ingest_oidc_audience" {
  description = "OIDC audience http-ingest accepts when http_ingest_api_keys_secret is empty."
  type        = string
  default     = ""
}

variable "http_ingest_oidc_allowed_emails" {
  description = "Service account emails allowed to call http-ingest with OIDC tokens, comma-separated."
  type        = string
  default     = ""
}

variable "http_ingest_public" {
  description = "Let anyone reach http-ingest (allUsers invoker; the app still checks API keys). false: callers need roles/run.invoker."
  type        = bool
  default     = true
}

variable "enable_sql_sink" {
  description = "Deploy the sql-sink (needs a MySQL/MariaDB server and mysql_url_secret)."
  type        = bool
  default     = false
}

variable "mysql_url_secret" {
  description = "Secret Manager secret id holding sql-sink's MYSQL_URL."
  type        = string
  default     = "tributary-mysql-url"
}

variable "archive_bucket_name" {
  description = "Archive bucket name; empty for PROJECT-tributary-archive."
  type        = string
  default     = ""
}

variable "archive_nearline_after_days" {
  description = "Archive objects move to NEARLINE at this age (days); 0 disables."
  type        = number
  default     = 30
}

variable "archive_coldline_after_days" {
  description = "Archive objects move to COLDLINE at this age (days); 0 disables."
  type        = number
  default     = 90
}

variable "archive_delete_after_days" {
  description = "Archive objects are deleted at this age (days); 0 keeps them."
  type        = number
  default     = 365
}

variable "archive_retention_days" {
  description = "Retention policy of the archive bucket in days; 0 for none."
  type        = number
  default     = 0
}

variable "bigquery_location" {
  description = "Location of the BigQuery dataset."
  type        = string
  default     = "EU"
}

variable "bigquery_dataset" {
  description = "Dataset id of the bigquery-sink."
  type        = string
  default     = "tributary"
}

variable "bigquery_table" {
  description = "Table id of the bigquery-sink."
  type        = string
  default     = "events"
}

variable "firestore_location" {
  description = "Location of the Firestore database (nam5, eur3 or a region)."
  type        = string
  default     = "eur3"
}

variable "firestore_database" {
  description = "Firestore database id; \"(default)\" is the one the client uses without configuration."
  type        = string
  default     = "(default)"
}

variable "enable_redis" {
  description = "Create a Memorystore for Redis instance for the enrichment cache (needs vpc_connector)."
  type        = bool
  default     = false
}

variable "redis_memory_size_gb" {
  description = "Memorystore size in GB."
  type        = number
  default     = 1
}

variable "vpc_connector" {
  description = "Serverless VPC Access connector (projects/P/locations/R/connectors/C) through which enrichment reaches Memorystore; empty for none."
  type        = string
  default     = ""
}

variable "gke_namespace" {
  description = "Kubernetes namespace of deploy/gke: when set, each app's Kubernetes service account (tributary-<app>) may act as its Google service account through Workload Identity. Empty when the apps run on Cloud Run only."
  type        = string
  default     = ""
}
