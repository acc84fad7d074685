import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

from .verify import WebhookVerificationError, verify


def verified_webhook(view):
    """Answer 401 unless the request carries a valid Hookline signature over its raw body.

    On success the view finds the message id in ``request.webhook_id``.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.HOOKLINE_SECRETS:
            raise ImproperlyConfigured("set HOOKLINE_SECRET to the subscription's signing secret (whsec_…)")
        try:
            # request.body is the raw bytes; request.POST or a re-serialised json.loads would not verify.
            verify(settings.HOOKLINE_SECRETS, request.headers, request.body, settings.HOOKLINE_TOLERANCE_SEC)
        except WebhookVerificationError as err:
            from .work import log

            log("rejected", reason=err.code)
            return HttpResponse(err.code, status=401, content_type="text/plain")
        request.webhook_id = request.headers["webhook-id"]
        return view(request, *args, **kwargs)

    return wrapper
