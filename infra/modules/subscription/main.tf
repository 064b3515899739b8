# One Pub/Sub subscription for one consuming app, with its dead-letter and retry policies, and
# the subscriber grant for that app's service account on this subscription only.

terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

variable "name" {
  description = "Subscription id (the app's SUBSCRIPTION or INPUT_SUBSCRIPTION)."
  type        = string
}

variable "topic" {
  description = "Id of the topic to subscribe to."
  type        = string
}

variable "dead_letter_topic" {
  description = "Full name (projects/P/topics/T) of the dead-letter topic."
  type        = string
}

variable "max_delivery_attempts" {
  description = "Deliveries before Pub/Sub forwards a message to the dead-letter topic (5-100). Apps with MAX_DELIVERY_ATTEMPTS get the same number."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100."
  }
}

variable "ack_deadline_seconds" {
  description = "First ack deadline. The consumer extends leases itself (10 s to 600 s per extension, up to an hour in all), so this only covers the first extension."
  type        = number
  default     = 60

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds must be between 10 and 600."
  }
}

variable "minimum_backoff" {
  description = "Retry policy: first redelivery delay after a nack, as a duration (\"10s\")."
  type        = string
  default     = "10s"
}

variable "maximum_backoff" {
  description = "Retry policy: longest redelivery delay (exponential up to it), as a duration (\"600s\")."
  type        = string
  default     = "600s"
}

variable "filter" {
  description = "Optional subscription filter on attributes (attributes.type = \"telemetry\"); empty for none. Changing it replaces the subscription."
  type        = string
  default     = ""
}

variable "enable_message_ordering" {
  description = "Deliver messages with the same ordering key in order (for apps that rely on it)."
  type        = bool
  default     = false
}

variable "message_retention_duration" {
  description = "How long unacked messages are kept."
  type        = string
  default     = "604800s"
}

variable "subscriber" {
  description = "IAM member (serviceAccount:...) granted roles/pubsub.subscriber on this subscription."
  type        = string
}

variable "pubsub_service_agent" {
  description = "IAM member of the project's Pub/Sub service agent, which must be able to acknowledge messages it forwards to the dead-letter topic."
  type        = string
}

variable "labels" {
  description = "Labels on the subscription."
  type        = map(string)
  default     = {}
}

resource "google_pubsub_subscription" "this" {
  name                       = var.name
  topic                      = var.topic
  ack_deadline_seconds       = var.ack_deadline_seconds
  enable_message_ordering    = var.enable_message_ordering
  filter                     = var.filter
  message_retention_duration = var.message_retention_duration
  labels                     = var.labels

  dead_letter_policy {
    dead_letter_topic     = var.dead_letter_topic
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "subscriber" {
  subscription = google_pubsub_subscription.this.name
  role         = "roles/pubsub.subscriber"
  member       = var.subscriber
}

resource "google_pubsub_subscription_iam_member" "dead_letter_forwarder" {
  subscription = google_pubsub_subscription.this.name
  role         = "roles/pubsub.subscriber"
  member       = var.pubsub_service_agent
}

output "name" {
  description = "Subscription id."
  value       = google_pubsub_subscription.this.name
}

output "id" {
  description = "Full subscription name (projects/P/subscriptions/S)."
  value       = google_pubsub_subscription.this.id
}
