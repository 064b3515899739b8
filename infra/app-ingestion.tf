# ingestion: MQTT broker -> raw topic (routes from Secret Manager), undeliverable -> dead-letter.
# One instance, CPU always allocated: it holds one long-lived MQTT connection and persistent
# session under one MQTT_CLIENT_ID, and receives no requests to wake it (see infra/README.md).

resource "google_service_account" "ingestion" {
  account_id   = "${var.name_prefix}ingestion"
  display_name = "Tributary ingestion"
}

resource "google_pubsub_topic_iam_member" "ingestion_raw" {
  topic  = google_pubsub_topic.raw.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.ingestion.member
}

resource "google_pubsub_topic_iam_member" "ingestion_dead_letter" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.ingestion.member
}

module "ingestion_service" {
  source                = "./modules/cloud-run-app"
  app                   = "ingestion"
  name                  = "${var.name_prefix}ingestion"
  location              = var.region
  image                 = "${local.image_base}/ingestion:${var.image_tag}"
  service_account_email = google_service_account.ingestion.email
  min_instances         = 1
  max_instances         = 1
  concurrency           = lookup(var.concurrency, "ingestion", 10)
  cpu_always_allocated  = true
  labels                = local.labels

  env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    LOG_LEVEL            = var.log_level
    MQTT_URL             = var.mqtt_url
    MQTT_CLIENT_ID       = "${var.name_prefix}ingestion"
    MQTT_USERNAME        = var.mqtt_username
    ROUTES_FILE          = "/etc/tributary/routes/routes.yaml"
    DEAD_LETTER_TOPIC    = google_pubsub_topic.dead_letter.name
  }

  # An empty secret id (no password) leaves the variable out.
  secret_env = {
    MQTT_PASSWORD = { secret = var.mqtt_password_secret }
  }

  secret_files = {
    routes = {
      secret     = var.ingestion_routes_secret
      mount_path = "/etc/tributary/routes"
      file_name  = "routes.yaml"
    }
  }
}

# On GKE: the pod's Kubernetes service account acts as this account (deploy/gke/base/ingestion).
resource "google_service_account_iam_member" "ingestion_workload_identity" {
  count              = var.gke_namespace == "" ? 0 : 1
  service_account_id = google_service_account.ingestion.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.gke_namespace}/${var.name_prefix}ingestion]"
}
