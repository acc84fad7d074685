#!/bin/sh
# A queue that workers pull from: one poll subscription, shared by every worker process.
# maxAttempts is max_retries + 1; ackTimeoutMs plays the part of Celery's visibility_timeout.
curl -sS -X POST "$HOOKLINE_URL/v1/subscriptions" \
  -H "Authorization: Bearer $HOOKLINE_TOKEN" -H 'content-type: application/json' \
  -d '{"topic": "reports.>", "type": "poll", "ackTimeoutMs": 60000, "maxAttempts": 4}'
