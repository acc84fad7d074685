"""Hands received events to the application, away from the request.

A thread keeps the example self-contained; in a project with Celery, ``enqueue`` is
``process_webhook.delay(webhook_id)`` and ``process_webhook`` is the task.
"""
import json
import queue
import threading

from django.db import close_old_connections, transaction
from django.utils import timezone

from .models import ProcessedWebhook

_queue = queue.Queue()
_started = threading.Lock()
_worker = None


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def handle_event(webhook_id, topic, data):
    """The application's work; it runs inside the transaction that marks the event processed."""
    log("processed", id=webhook_id, topic=topic, data=data)


def process_webhook(webhook_id):
    with transaction.atomic():
        # Claim the row with a conditional write first: it takes the write lock (a row lock on PostgreSQL,
        # the database lock on SQLite), so a second worker finds it claimed. If the work fails, the
        # rollback releases the claim and the row waits for the next start.
        claimed = ProcessedWebhook.objects.filter(pk=webhook_id, processed_at__isnull=True).update(
            processed_at=timezone.now()
        )
        if not claimed:
            return
        row = ProcessedWebhook.objects.get(pk=webhook_id)
        handle_event(row.webhook_id, row.topic, row.payload)


def _run():
    # Events accepted before a crash or restart but never processed are picked up first.
    for webhook_id in ProcessedWebhook.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
        _queue.put(webhook_id)
    close_old_connections()
    while True:
        webhook_id = _queue.get()
        close_old_connections()
        try:
            process_webhook(webhook_id)
        except Exception as err:  # keep the worker alive; the row stays unprocessed for the next start
            log("failed", id=webhook_id, error=str(err))


def start_worker():
    """Starts the worker thread once per process (project/wsgi.py calls it, so runserver and gunicorn do)."""
    global _worker
    with _started:
        if _worker is None:
            _worker = threading.Thread(target=_run, name="hooks-worker", daemon=True)
            _worker.start()


def enqueue(webhook_id):
    start_worker()
    _queue.put(webhook_id)
