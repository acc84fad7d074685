"""Publish instead of task.delay(): python3 publish.py TOPIC JSON

In a view, publish after the commit, as you would enqueue a task:
    transaction.on_commit(lambda: publish("orders.created", {"orderId": order.pk}, f"order-{order.pk}"))
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

HOOKLINE_URL = os.environ.get("HOOKLINE_URL", "http://127.0.0.1:8080")
HOOKLINE_TOKEN = os.environ["HOOKLINE_TOKEN"]


def publish(topic, data, idempotency_key=None, attempts=3):
    """Returns the message id. Retrying with the same Idempotency-Key never stores the message twice."""
    headers = {"authorization": "Bearer " + HOOKLINE_TOKEN, "content-type": "application/json"}
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    body = json.dumps(data).encode()
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            f"{HOOKLINE_URL}/v1/topics/{topic}/messages", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["id"]
        except urllib.error.HTTPError as err:
            if err.code != 503 or attempt == attempts or not idempotency_key:
                raise
        except urllib.error.URLError:
            if attempt == attempts or not idempotency_key:
                raise
        time.sleep(0.5 * 2**attempt)


if __name__ == "__main__":
    topic, data = sys.argv[1], json.loads(sys.argv[2])
    print(publish(topic, data, idempotency_key=os.environ.get("IDEMPOTENCY_KEY")))
