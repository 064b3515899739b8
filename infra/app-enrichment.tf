# enrichment: raw subscription -> device registry (Firestore, Redis cache) -> enriched topic.

resource "google_service_account" "enrichment" {
  account_id   = "${var.name_prefix}enrichment"
  display_name = "Tributary enrichment"
}

module "enrichment_subscription" {
  source                  = "./modules/subscription"
  name                    = "${var.name_prefix}enrichment"
  topic                   = google_pubsub_topic.raw.id
  dead_letter_topic       = google_pubsub_topic.dead_letter.id
  max_delivery_attempts   = var.max_delivery_attempts
  ack_deadline_seconds    = var.ack_deadline_seconds
  filter                  = lookup(var.subscription_filters, "enrichment", "")
  enable_message_ordering = true
  subscriber              = google_service_account.enrichment.member
  pubsub_service_agent    = local.pubsub_service_agent
  labels                  = local.labels
}

resource "google_pubsub_topic_iam_member" "enrichment_enriched" {
  topic  = google_pubsub_topic.enriched.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.enrichment.member
}

resource "google_pubsub_topic_iam_member" "enrichment_dead_letter" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.enrichment.member
}

# Firestore has no per-database IAM binding: a project binding narrowed by a condition to the
# registry database is the smallest grant there is.
resource "google_project_iam_member" "enrichment_firestore_read" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.enrichment.member

  condition {
    title      = "registry database only"
    expression = "resource.name.startsWith(\"projects/${var.project_id}/databases/${google_firestore_database.registry.name}\")"
  }
}

module "enrichment_service" {
  source                = "./modules/cloud-run-app"
  app                   = "enrichment"
  name                  = "${var.name_prefix}enrichment"
  location              = var.region
  image                 = "${local.image_base}/enrichment:${var.image_tag}"
  service_account_email = google_service_account.enrichment.email
  min_instances         = lookup(var.min_instances, "enrichment", 1)
  max_instances         = lookup(var.max_instances, "enrichment", 10)
  concurrency           = lookup(var.concurrency, "enrichment", 10)
  cpu_always_allocated  = true
  vpc_connector         = var.vpc_connector
  labels                = local.labels

  env = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    LOG_LEVEL             = var.log_level
    INPUT_SUBSCRIPTION    = module.enrichment_subscription.name
    OUTPUT_TOPIC          = google_pubsub_topic.enriched.name
    DEAD_LETTER_TOPIC     = google_pubsub_topic.dead_letter.name
    LOOKUPS_FILE          = var.enrichment_lookups_secret == "" ? "/app/examples/lookups.example.yaml" : "/etc/tributary/lookups/lookups.yaml"
    MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)
    REDIS_URL             = var.enable_redis ? "redis://${google_redis_instance.cache[0].host}:${google_redis_instance.cache[0].port}" : ""
  }

  # An empty secret id leaves the volume out (LOOKUPS_FILE is then the bundled example).
  secret_files = {
    lookups = {
      secret     = var.enrichment_lookups_secret
      mount_path = "/etc/tributary/lookups"
      file_name  = "lookups.yaml"
    }
  }
}

# On GKE: the pod's Kubernetes service account acts as this account (deploy/gke/base/enrichment).
resource "google_service_account_iam_member" "enrichment_workload_identity" {
  count              = var.gke_namespace == "" ? 0 : 1
  service_account_id = google_service_account.enrichment.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.gke_namespace}/${var.name_prefix}enrichment]"
}
