# archiver: raw subscription -> gzip JSON Lines objects in the archive bucket.

resource "google_service_account" "archiver" {
  account_id   = "${var.name_prefix}archiver"
  display_name = "Tributary archiver"
}

module "archiver_subscription" {
  source                = "./modules/subscription"
  name                  = "${var.name_prefix}archiver"
  topic                 = google_pubsub_topic.raw.id
  dead_letter_topic     = google_pubsub_topic.dead_letter.id
  max_delivery_attempts = var.max_delivery_attempts
  ack_deadline_seconds  = var.ack_deadline_seconds
  filter                = lookup(var.subscription_filters, "archiver", "")
  subscriber            = google_service_account.archiver.member
  pubsub_service_agent  = local.pubsub_service_agent
  labels                = local.labels
}

resource "google_storage_bucket_iam_member" "archiver_object_creator" {
  bucket = module.archive_bucket.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.archiver.member
}

# The archiver reads the bucket's metadata at startup (a missing bucket fails fast):
# storage.buckets.get, which objectCreator lacks.
resource "google_storage_bucket_iam_member" "archiver_bucket_reader" {
  bucket = module.archive_bucket.name
  role   = "roles/storage.legacyBucketReader"
  member = google_service_account.archiver.member
}

module "archiver_service" {
  source                = "./modules/cloud-run-app"
  app                   = "archiver"
  name                  = "${var.name_prefix}archiver"
  location              = var.region
  image                 = "${local.image_base}/archiver:${var.image_tag}"
  service_account_email = google_service_account.archiver.email
  min_instances         = lookup(var.min_instances, "archiver", 1)
  max_instances         = lookup(var.max_instances, "archiver", 3)
  concurrency           = lookup(var.concurrency, "archiver", 10)
  cpu_always_allocated  = true
  memory                = "1Gi"
  labels                = local.labels

  env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    LOG_LEVEL            = var.log_level
    SUBSCRIPTION         = module.archiver_subscription.name
    BUCKET               = module.archive_bucket.name
    PREFIX               = "raw"
    LAYOUT               = "hive"
  }
}

# On GKE: the pod's Kubernetes service account acts as this account (deploy/gke/base/archiver).
resource "google_service_account_iam_member" "archiver_workload_identity" {
  count              = var.gke_namespace == "" ? 0 : 1
  service_account_id = google_service_account.archiver.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.gke_namespace}/${var.name_prefix}archiver]"
}
