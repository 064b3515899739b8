output "topics" {
  description = "Topic ids: raw, enriched and dead-letter."
  value = {
    raw         = google_pubsub_topic.raw.name
    enriched    = google_pubsub_topic.enriched.name
    dead_letter = google_pubsub_topic.dead_letter.name
  }
}

output "subscriptions" {
  description = "Subscription id per consuming app."
  value = merge(
    {
      enrichment      = module.enrichment_subscription.name
      "bigquery-sink" = module.bigquery_sink_subscription.name
      archiver        = module.archiver_subscription.name
    },
    { for m in module.sql_sink_subscription : "sql-sink" => m.name },
  )
}

output "archive_bucket" {
  description = "The archive bucket."
  value       = module.archive_bucket.name
}

output "bigquery_table" {
  description = "project.dataset.table the bigquery-sink writes."
  value       = module.bigquery.table
}

output "image_repository" {
  description = "Where to push the images: docker push <this>/<app>:<tag>."
  value       = local.image_base
}

output "service_urls" {
  description = "Cloud Run URL per app."
  value = merge(
    {
      ingestion       = module.ingestion_service.uri
      enrichment      = module.enrichment_service.uri
      "bigquery-sink" = module.bigquery_sink_service.uri
      archiver        = module.archiver_service.uri
      "http-ingest"   = module.http_ingest_service.uri
    },
    { for m in module.sql_sink_service : "sql-sink" => m.uri },
  )
}

output "service_accounts" {
  description = "Service account email per app."
  value = merge(
    {
      ingestion       = google_service_account.ingestion.email
      enrichment      = google_service_account.enrichment.email
      "bigquery-sink" = google_service_account.bigquery_sink.email
      archiver        = google_service_account.archiver.email
      "http-ingest"   = google_service_account.http_ingest.email
    },
    { for a in google_service_account.sql_sink : "sql-sink" => a.email },
  )
}
