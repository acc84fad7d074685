"""A complete Hookline receiver on the standard library alone (wsgiref), built around verify.py.

    HOOKLINE_SECRET=whsec_… PORT=3000 python3 receiver.py

It verifies each request over the raw body, rejects timestamps more than 5 minutes off, answers at once
and hands the work to a background thread, and processes each webhook-id once. HOOKLINE_SECRET holds one
secret, or two separated by a space (new first) while a rotation is under way. Each outcome is printed as
one JSON line. The same steps fit a Flask or FastAPI route: read the raw body, call verify(), dedupe,
enqueue, answer 2xx.
"""

import json
import os
import queue
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from verify import WebhookVerificationError, verify

SECRETS = os.environ["HOOKLINE_SECRET"].split()
MAX_BODY = 1024 * 1024

work = queue.Queue()
# In memory for the example: a real application records the webhook-id in its database, in the same
# transaction as the work (see examples/django), so a restart does not forget what it has done.
seen = set()
seen_lock = threading.Lock()


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def handle(event):
    """The application's work: anything slow belongs here, not in the request."""
    log("processed", id=event["id"], topic=event["topic"], data=event["data"])


def worker():
    while True:
        event = work.get()
        try:
            handle(event)
        except Exception as err:  # keep the worker alive; a real app would retry or alert
            log("failed", id=event.get("id"), error=str(err))


def app(environ, start_response):
    def answer(status, body=b""):
        start_response(status, [("content-type", "text/plain"), ("content-length", str(len(body)))])
        return [body]

    if environ["REQUEST_METHOD"] != "POST" or environ.get("PATH_INFO") != "/hooks":
        return answer("404 Not Found")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        return answer("413 Payload Too Large")
    body = environ["wsgi.input"].read(length)
    headers = {
        name: environ.get("HTTP_" + name.upper().replace("-", "_"))
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    try:
        verify(SECRETS, {k: v for k, v in headers.items() if v is not None}, body)
    except WebhookVerificationError as err:
        log("rejected", reason=err.code)
        return answer("401 Unauthorized", err.code.encode())

    webhook_id = headers["webhook-id"]
    with seen_lock:
        duplicate = webhook_id in seen
        seen.add(webhook_id)
    if duplicate:
        log("duplicate", id=webhook_id)
        return answer("200 OK", b"already received")
    work.put(json.loads(body))
    return answer("202 Accepted")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # keep stdout for the JSON lines
        sys.stderr.write("%s\n" % (format % args))


if __name__ == "__main__":
    threading.Thread(target=worker, daemon=True).start()
    port = int(os.environ.get("PORT", "3000"))
    with make_server("127.0.0.1", port, app, handler_class=QuietHandler) as server:
        log("listening", port=server.server_port)
        server.serve_forever()
