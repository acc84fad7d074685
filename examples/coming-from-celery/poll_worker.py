"""A worker that pulls jobs, as a Celery worker does: python3 poll_worker.py SUBSCRIPTION_ID [BATCHES]

Run as many as you like on one subscription: each message goes to one of them. A message that is
neither acked nor nacked comes back after the subscription's ackTimeoutMs (acks_late, in Celery's terms).
"""
import json
import os
import sys
import urllib.request

HOOKLINE_URL = os.environ.get("HOOKLINE_URL", "http://127.0.0.1:8080")
HOOKLINE_TOKEN = os.environ["HOOKLINE_TOKEN"]


def call(method, path, body=None):
    request = urllib.request.Request(
        HOOKLINE_URL + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": "Bearer " + HOOKLINE_TOKEN, "content-type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=40) as response:
        return json.load(response)


def handle(message):
    """The task's body. Raise to have the message handed out again (a retry)."""
    print(json.dumps({"processed": message["id"], "topic": message["topic"], "attempt": message["attempt"]}), flush=True)


def work(subscription, batches=None):
    done = 0
    while batches is None or done < batches:
        done += 1
        messages = call("GET", f"/v1/subscriptions/{subscription}/messages?max=10&wait=20")["messages"]
        acks, nacks = [], []
        for message in messages:
            try:
                handle(message)
                acks.append(message["ackId"])
            except Exception:
                nacks.append(message["ackId"])
        if acks:
            call("POST", f"/v1/subscriptions/{subscription}/ack", {"ackIds": acks})
        if nacks:
            call("POST", f"/v1/subscriptions/{subscription}/nack", {"ackIds": nacks, "delayMs": 10000})


if __name__ == "__main__":
    work(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
