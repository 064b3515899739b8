# sql-sink (optional): enriched subscription -> a MySQL or MariaDB table.

resource "google_service_account" "sql_sink" {
  count        = var.enable_sql_sink ? 1 : 0
  account_id   = "${var.name_prefix}sql-sink"
  display_name = "Tributary sql-sink"
}

module "sql_sink_subscription" {
  count                 = var.enable_sql_sink ? 1 : 0
  source                = "./modules/subscription"
  name                  = "${var.name_prefix}sql-sink"
  topic                 = google_pubsub_topic.enriched.id
  dead_letter_topic     = google_pubsub_topic.dead_letter.id
  max_delivery_attempts = var.max_delivery_attempts
  ack_deadline_seconds  = var.ack_deadline_seconds
  filter                = lookup(var.subscription_filters, "sql-sink", "")
  subscriber            = google_service_account.sql_sink[0].member
  pubsub_service_agent  = local.pubsub_service_agent
  labels                = local.labels
}

resource "google_pubsub_topic_iam_member" "sql_sink_dead_letter" {
  count  = var.enable_sql_sink ? 1 : 0
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.sql_sink[0].member
}

module "sql_sink_service" {
  count                 = var.enable_sql_sink ? 1 : 0
  source                = "./modules/cloud-run-app"
  app                   = "sql-sink"
  name                  = "${var.name_prefix}sql-sink"
  location              = var.region
  image                 = "${local.image_base}/sql-sink:${var.image_tag}"
  service_account_email = google_service_account.sql_sink[0].email
  min_instances         = lookup(var.min_instances, "sql-sink", 1)
  max_instances         = lookup(var.max_instances, "sql-sink", 3)
  concurrency           = lookup(var.concurrency, "sql-sink", 10)
  cpu_always_allocated  = true
  labels                = local.labels

  env = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    LOG_LEVEL             = var.log_level
    SUBSCRIPTION          = module.sql_sink_subscription[0].name
    DEAD_LETTER_TOPIC     = google_pubsub_topic.dead_letter.name
    MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)
  }

  secret_env = {
    MYSQL_URL = { secret = var.mysql_url_secret }
  }
}

# On GKE: the pod's Kubernetes service account acts as this account (deploy/gke/base/sql-sink).
resource "google_service_account_iam_member" "sql_sink_workload_identity" {
  count              = var.enable_sql_sink && var.gke_namespace != "" ? 1 : 0
  service_account_id = google_service_account.sql_sink[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.gke_namespace}/${var.name_prefix}sql-sink]"
}
