#!/bin/sh
# The task
#   @app.task(autoretry_for=(RequestException,), retry_backoff=True, retry_backoff_max=600, max_retries=5)
#   def notify_partner(order): requests.post(PARTNER_URL, json=order, timeout=10).raise_for_status()
# becomes a subscription: Hookline makes the POST, signs it and retries it.
curl -sS -X POST "$HOOKLINE_URL/v1/subscriptions" \
  -H "Authorization: Bearer $HOOKLINE_TOKEN" -H 'content-type: application/json' \
  -d '{
    "topic": "orders.*",
    "url": "'"${PARTNER_URL:-http://127.0.0.1:8000/hooks}"'",
    "timeoutMs": 10000,
    "retry": {"maxAttempts": 6, "initialDelayMs": 1000, "maxDelayMs": 600000, "multiplier": 2}
  }'
