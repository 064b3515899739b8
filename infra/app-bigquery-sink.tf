# bigquery-sink: enriched subscription -> the events table (Terraform owns the table: AUTO_CREATE
# is off and the schema, partitioning and clustering are in modules/bigquery-events).

resource "google_service_account" "bigquery_sink" {
  account_id   = "${var.name_prefix}bigquery-sink"
  display_name = "Tributary bigquery-sink"
}

module "bigquery_sink_subscription" {
  source                = "./modules/subscription"
  name                  = "${var.name_prefix}bigquery-sink"
  topic                 = google_pubsub_topic.enriched.id
  dead_letter_topic     = google_pubsub_topic.dead_letter.id
  max_delivery_attempts = var.max_delivery_attempts
  ack_deadline_seconds  = var.ack_deadline_seconds
  filter                = lookup(var.subscription_filters, "bigquery-sink", "")
  subscriber            = google_service_account.bigquery_sink.member
  pubsub_service_agent  = local.pubsub_service_agent
  labels                = local.labels
}

resource "google_pubsub_topic_iam_member" "bigquery_sink_dead_letter" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.bigquery_sink.member
}

resource "google_bigquery_dataset_iam_member" "bigquery_sink_data_editor" {
  dataset_id = module.bigquery.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.bigquery_sink.member
}

module "bigquery_sink_service" {
  source                = "./modules/cloud-run-app"
  app                   = "bigquery-sink"
  name                  = "${var.name_prefix}bigquery-sink"
  location              = var.region
  image                 = "${local.image_base}/bigquery-sink:${var.image_tag}"
  service_account_email = google_service_account.bigquery_sink.email
  min_instances         = lookup(var.min_instances, "bigquery-sink", 1)
  max_instances         = lookup(var.max_instances, "bigquery-sink", 5)
  concurrency           = lookup(var.concurrency, "bigquery-sink", 10)
  cpu_always_allocated  = true
  labels                = local.labels

  env = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    LOG_LEVEL             = var.log_level
    SUBSCRIPTION          = module.bigquery_sink_subscription.name
    DEAD_LETTER_TOPIC     = google_pubsub_topic.dead_letter.name
    BIGQUERY_DATASET      = module.bigquery.dataset_id
    BIGQUERY_TABLE        = module.bigquery.table_id
    BIGQUERY_LOCATION     = var.bigquery_location
    MAPPING_FILE          = "/app/examples/mapping.example.json"
    AUTO_CREATE           = "false"
    MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)
  }
}

# On GKE: the pod's Kubernetes service account acts as this account (deploy/gke/base/bigquery-sink).
resource "google_service_account_iam_member" "bigquery_sink_workload_identity" {
  count              = var.gke_namespace == "" ? 0 : 1
  service_account_id = google_service_account.bigquery_sink.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.gke_namespace}/${var.name_prefix}bigquery-sink]"
}
