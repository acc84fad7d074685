"""AsyncResult(task_id).state for a message: python3 message_state.py MESSAGE_ID [TIMEOUT_S]

Prints the state of each of the message's deliveries in Celery's words until all have settled.
"""
import json
import os
import sys
import time
import urllib.request

HOOKLINE_URL = os.environ.get("HOOKLINE_URL", "http://127.0.0.1:8080")
HOOKLINE_TOKEN = os.environ["HOOKLINE_TOKEN"]


def celery_state(delivery):
    return {
        "pending": "PENDING",  # queued, or its attempt in flight: Hookline records an attempt when it ends
        "failed": "RETRY",  # waiting for its next attempt at nextAttemptAt
        "succeeded": "SUCCESS",
        "dead": "FAILURE",  # retries spent, or a permanent failure status; lastError says why
    }[delivery["status"]]


def message_state(message_id):
    request = urllib.request.Request(
        f"{HOOKLINE_URL}/v1/messages/{message_id}", headers={"authorization": "Bearer " + HOOKLINE_TOKEN}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait(message_id, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while True:
        message = message_state(message_id)
        states = {d["subscriptionId"]: celery_state(d) for d in message["deliveries"]}
        if message["settled"] or time.monotonic() > deadline:
            return message["settled"], states
        time.sleep(0.5)


if __name__ == "__main__":
    settled, states = wait(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30)
    print(json.dumps({"settled": settled, "states": states}))
    sys.exit(0 if settled else 1)
