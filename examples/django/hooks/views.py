import json

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .decorators import verified_webhook
from .models import ProcessedWebhook
from .work import enqueue, log


@csrf_exempt
@require_POST
@verified_webhook
def receive_webhook(request):
    """Record the event once, hand it to the worker, answer at once: Hookline waits for the answer."""
    event = json.loads(request.body)
    with transaction.atomic():
        _, created = ProcessedWebhook.objects.get_or_create(
            webhook_id=request.webhook_id,
            defaults={"topic": event["topic"], "payload": event["data"]},
        )
        if created:
            # Only after the row is committed: the worker must find it.
            transaction.on_commit(lambda: enqueue(request.webhook_id))
    if not created:
        log("duplicate", id=request.webhook_id)
        return HttpResponse("already received", status=200, content_type="text/plain")
    return HttpResponse(status=202)
