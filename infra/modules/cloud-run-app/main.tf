# One Tributary app as a Cloud Run v2 service: the image built from docker/Dockerfile with
# APP=<app>, plain environment from the app's config schema, secrets from Secret Manager (as
# variables or as files), and startup / liveness probes on /readyz and /healthz.

terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

variable "app" {
  description = "The app folder (apps/<app>); the env and secret names below must be variables of its config schema."
  type        = string
}

variable "name" {
  description = "Cloud Run service name."
  type        = string
}

variable "location" {
  description = "Cloud Run region."
  type        = string
}

variable "image" {
  description = "Container image (REGION-docker.pkg.dev/PROJECT/REPO/APP:TAG)."
  type        = string
}

variable "service_account_email" {
  description = "The app's own service account; the service runs as it."
  type        = string
}

variable "env" {
  description = "Plain environment variables, by name."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variables read from Secret Manager: name => { secret = secret id, version = \"latest\" or a number }. An entry with an empty secret id is left out."
  type = map(object({
    secret  = string
    version = optional(string, "latest")
  }))
  default = {}
}

variable "secret_files" {
  description = "Secrets mounted as files: one volume per entry, the secret's latest version at mount_path/file_name. An entry with an empty secret id is left out."
  type = map(object({
    secret     = string
    mount_path = string
    file_name  = string
  }))
  default = {}
}

variable "min_instances" {
  description = "Instances kept running."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Instances at most."
  type        = number
  default     = 10
}

variable "concurrency" {
  description = "Requests per instance at once (Cloud Run's max_instance_request_concurrency)."
  type        = number
  default     = 80
}

variable "cpu" {
  description = "CPU limit per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory limit per instance."
  type        = string
  default     = "512Mi"
}

variable "cpu_always_allocated" {
  description = "Keep CPU allocated between requests (cpu_idle = false). Pull subscribers and MQTT clients work outside requests, so they need it."
  type        = bool
  default     = true
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_ONLY"
}

variable "timeout_seconds" {
  description = "Request timeout; also bounds the shutdown drain, so keep it above SHUTDOWN_TIMEOUT_MS."
  type        = number
  default     = 60
}

variable "vpc_connector" {
  description = "Serverless VPC Access connector for private addresses (Memorystore); empty for none."
  type        = string
  default     = ""
}

variable "labels" {
  description = "Labels on the service."
  type        = map(string)
  default     = {}
}

locals {
  secret_env   = { for name, s in var.secret_env : name => s if s.secret != "" }
  secret_files = { for name, s in var.secret_files : name => s if s.secret != "" }
}

resource "google_cloud_run_v2_service" "this" {
  name                = var.name
  location            = var.location
  ingress             = var.ingress
  deletion_protection = false
  labels              = merge(var.labels, { app = var.app })

  template {
    service_account                  = var.service_account_email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.timeout_seconds}s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    dynamic "vpc_access" {
      for_each = var.vpc_connector == "" ? [] : [var.vpc_connector]
      content {
        connector = vpc_access.value
        egress    = "PRIVATE_RANGES_ONLY"
      }
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = !var.cpu_always_allocated
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value.secret
              version = env.value.version
            }
          }
        }
      }

      dynamic "volume_mounts" {
        for_each = local.secret_files
        content {
          name       = volume_mounts.key
          mount_path = volume_mounts.value.mount_path
        }
      }

      startup_probe {
        http_get {
          path = "/readyz"
          port = 8080
        }
        period_seconds    = 2
        timeout_seconds   = 1
        failure_threshold = 30
      }

      liveness_probe {
        http_get {
          path = "/healthz"
          port = 8080
        }
        period_seconds    = 10
        timeout_seconds   = 2
        failure_threshold = 3
      }
    }

    dynamic "volumes" {
      for_each = local.secret_files
      content {
        name = volumes.key
        secret {
          secret = volumes.value.secret
          items {
            version = "latest"
            path    = volumes.value.file_name
          }
        }
      }
    }
  }
}

# The app reads its own secrets and nothing else: accessor on each secret, not on the project.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = toset(concat(
    [for s in values(local.secret_env) : s.secret],
    [for s in values(local.secret_files) : s.secret],
  ))
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.service_account_email}"
}

output "uri" {
  description = "The service URL."
  value       = google_cloud_run_v2_service.this.uri
}

output "name" {
  description = "The service name."
  value       = google_cloud_run_v2_service.this.name
}
