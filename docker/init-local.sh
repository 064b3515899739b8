#!/bin/sh
# One-shot setup of docker/compose.yaml: the topics and subscriptions (with the same dead-letter
# and retry policies as infra/modules/subscription) on the Pub/Sub emulator, and the archive
# bucket on our local GCS server. Idempotent: 409 (already exists) counts as done.
set -eu
P="${PROJECT:-local}"
PUBSUB="http://${PUBSUB_EMULATOR_HOST:?}"
GCS="${STORAGE_EMULATOR_HOST:?}"

put() {
  status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'content-type: application/json' \
    --data "${2:-{\}}" "$PUBSUB/v1/projects/$P/$1")
  case "$status" in 200|409) echo "ok $1" ;; *) echo "failed $1: $status" >&2; exit 1 ;; esac
}

subscription() { # name topic ordering
  put "subscriptions/$1" "{\"topic\":\"projects/$P/topics/$2\",\"ackDeadlineSeconds\":60,\
\"enableMessageOrdering\":$3,\
\"deadLetterPolicy\":{\"deadLetterTopic\":\"projects/$P/topics/dead-letter\",\"maxDeliveryAttempts\":10},\
\"retryPolicy\":{\"minimumBackoff\":\"10s\",\"maximumBackoff\":\"600s\"}}"
}

put topics/raw
put topics/enriched
put topics/dead-letter
subscription enrichment raw true
subscription archiver raw false
subscription bigquery-sink enriched false
subscription sql-sink enriched false
put subscriptions/dead-letter-inspect "{\"topic\":\"projects/$P/topics/dead-letter\"}"

status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
  --data '{"name":"archive"}' "$GCS/storage/v1/b?project=$P")
case "$status" in 200|409) echo "ok bucket archive" ;; *) echo "failed bucket: $status" >&2; exit 1 ;; esac
