from django.db import models


class ProcessedWebhook(models.Model):
    """One row per webhook-id: the primary key is what makes a redelivery harmless.

    The row is written in the request's transaction (so a 2xx means it is on disk) and marked processed in
    the worker's transaction, together with whatever the work changed.
    """

    webhook_id = models.CharField(primary_key=True, max_length=128)
    topic = models.CharField(max_length=255)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.webhook_id
