# The shared resources: APIs, the image repository, the three topics, the archive bucket, the
# BigQuery dataset and table, Firestore and (optionally) Memorystore. Each app's account, grants,
# subscription and Cloud Run service are in app-<name>.tf.

locals {
  image_base           = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  labels               = { system = "tributary" }
}

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com", # the sink writes through the Storage Write API
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

resource "google_artifact_registry_repository" "images" {
  repository_id = var.artifact_repository
  location      = var.region
  format        = "DOCKER"
  description   = "Tributary app images (docker/Dockerfile, one per APP)"
  labels        = local.labels
  depends_on    = [google_project_service.apis]
}

# Topics: what the apps publish to and read from.

resource "google_pubsub_topic" "raw" {
  name       = "${var.name_prefix}raw"
  labels     = local.labels
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "enriched" {
  name       = "${var.name_prefix}enriched"
  labels     = local.labels
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name       = "${var.name_prefix}dead-letter"
  labels     = local.labels
  depends_on = [google_project_service.apis]
}

# Pub/Sub itself forwards messages past max_delivery_attempts to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "dead_letter_forwarder" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

# A subscription on the dead-letter topic, so dead letters are kept until someone looks.
resource "google_pubsub_subscription" "dead_letter_inspect" {
  name                       = "${var.name_prefix}dead-letter-inspect"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

module "archive_bucket" {
  source              = "./modules/archive-bucket"
  name                = var.archive_bucket_name == "" ? "${var.project_id}-tributary-archive" : var.archive_bucket_name
  location            = var.region
  nearline_after_days = var.archive_nearline_after_days
  coldline_after_days = var.archive_coldline_after_days
  delete_after_days   = var.archive_delete_after_days
  retention_days      = var.archive_retention_days
  labels              = local.labels
}

module "bigquery" {
  source            = "./modules/bigquery-events"
  project_id        = var.project_id
  dataset_id        = var.bigquery_dataset
  table_id          = var.bigquery_table
  location          = var.bigquery_location
  schema_json       = file("${path.module}/schemas/events.json")
  partition_field   = "publish_time"
  clustering_fields = ["device_id", "event_type"]
  dedup_view_id     = "${var.bigquery_table}_dedup"
  message_id_column = "message_id"
  labels            = local.labels
}

resource "google_firestore_database" "registry" {
  name        = var.firestore_database
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

resource "google_redis_instance" "cache" {
  count              = var.enable_redis ? 1 : 0
  name               = "${var.name_prefix}cache"
  region             = var.region
  tier               = "STANDARD_HA"
  memory_size_gb     = var.redis_memory_size_gb
  redis_version      = "REDIS_7_2"
  connect_mode       = "DIRECT_PEERING"
  authorized_network = "default"
  labels             = local.labels
  depends_on         = [google_project_service.apis]
}
