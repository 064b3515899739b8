# The archiver's bucket: uniform bucket-level access, public access prevention enforced, and
# lifecycle rules that move objects to Nearline, then Coldline, then delete them.

terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

variable "name" {
  description = "Bucket name (globally unique; the archiver's BUCKET)."
  type        = string
}

variable "location" {
  description = "Bucket location (a region such as europe-west1, or a multi-region)."
  type        = string
}

variable "nearline_after_days" {
  description = "Age in days at which objects move to NEARLINE; 0 disables the rule."
  type        = number
  default     = 30
}

variable "coldline_after_days" {
  description = "Age in days at which objects move to COLDLINE; 0 disables the rule."
  type        = number
  default     = 90
}

variable "delete_after_days" {
  description = "Age in days at which objects are deleted; 0 keeps them forever."
  type        = number
  default     = 365
}

variable "retention_days" {
  description = "Retention policy: objects cannot be deleted or replaced before this age; 0 for none."
  type        = number
  default     = 0
}

variable "retention_locked" {
  description = "Lock the retention policy (irreversible: it can then never be shortened or removed)."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Let terraform destroy delete a bucket that still holds objects."
  type        = bool
  default     = false
}

variable "labels" {
  description = "Labels on the bucket."
  type        = map(string)
  default     = {}
}

resource "google_storage_bucket" "this" {
  name                        = var.name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  dynamic "lifecycle_rule" {
    for_each = var.nearline_after_days > 0 ? [var.nearline_after_days] : []
    content {
      condition {
        age                   = lifecycle_rule.value
        matches_storage_class = ["STANDARD"]
      }
      action {
        type          = "SetStorageClass"
        storage_class = "NEARLINE"
      }
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.coldline_after_days > 0 ? [var.coldline_after_days] : []
    content {
      condition {
        age                   = lifecycle_rule.value
        matches_storage_class = ["STANDARD", "NEARLINE"]
      }
      action {
        type          = "SetStorageClass"
        storage_class = "COLDLINE"
      }
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.delete_after_days > 0 ? [var.delete_after_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  dynamic "retention_policy" {
    for_each = var.retention_days > 0 ? [var.retention_days] : []
    content {
      retention_period = retention_policy.value * 86400
      is_locked        = var.retention_locked
    }
  }
}

output "name" {
  description = "Bucket name."
  value       = google_storage_bucket.this.name
}

output "url" {
  description = "gs:// URL of the bucket."
  value       = google_storage_bucket.this.url
}
