# http-ingest: HTTPS events -> raw topic. Public behind API keys (from Secret Manager), or
# private behind Cloud Run IAM with OIDC tokens when http_ingest_api_keys_secret is empty.

resource "google_service_account" "http_ingest" {
  account_id   = "${var.name_prefix}http-ingest"
  display_name = "Tributary http-ingest"
}

resource "google_pubsub_topic_iam_member" "http_ingest_raw" {
  topic  = google_pubsub_topic.raw.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.http_ingest.member
}

module "http_ingest_service" {
  source                = "./modules/cloud-run-app"
  app                   = "http-ingest"
  name                  = "${var.name_prefix}http-ingest"
  location              = var.region
  image                 = "${local.image_base}/http-ingest:${var.image_tag}"
  service_account_email = google_service_account.http_ingest.email
  min_instances         = lookup(var.min_instances, "http-ingest", 0)
  max_instances         = lookup(var.max_instances, "http-ingest", 20)
  concurrency           = lookup(var.concurrency, "http-ingest", 250)
  cpu_always_allocated  = false
  ingress               = "INGRESS_TRAFFIC_ALL"
  labels                = local.labels

  env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    LOG_LEVEL            = var.log_level
    TOPIC                = google_pubsub_topic.raw.name
    OIDC_AUDIENCE        = var.http_ingest_oidc_audience
    OIDC_ALLOWED_EMAILS  = var.http_ingest_oidc_allowed_emails
  }

  # An empty secret id (OIDC only) leaves the variable out.
  secret_env = {
    API_KEYS = { secret = var.http_ingest_api_keys_secret }
  }
}

resource "google_cloud_run_v2_service_iam_member" "http_ingest_public" {
  count    = var.http_ingest_public ? 1 : 0
  name     = module.http_ingest_service.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# On GKE: the pod's Kubernetes service account acts as this account (deploy/gke/base/http-ingest).
resource "google_service_account_iam_member" "http_ingest_workload_identity" {
  count              = var.gke_namespace == "" ? 0 : 1
  service_account_id = google_service_account.http_ingest.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.gke_namespace}/${var.name_prefix}http-ingest]"
}
