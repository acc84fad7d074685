"""Verify a Hookline (Standard Webhooks) request with nothing but the Python standard library.

Copy this file into a Flask, FastAPI or plain WSGI app:

    from verify import verify, WebhookVerificationError

    try:
        verify(["whsec_…"], request.headers, raw_body)   # raw bytes exactly as received
    except WebhookVerificationError as err:
        return 401                                      # err.code says why

The signature is base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)), where the key is the
base64-decoded part of the secret after ``whsec_``. During a secret rotation Hookline sends two
signatures (new and old, space-separated), so a receiver still holding the old secret keeps working; while
you switch, pass both secrets, new first.
"""

import base64
import binascii
import hashlib
import hmac
import time

__all__ = ["verify", "WebhookVerificationError", "DEFAULT_TOLERANCE_SEC"]

DEFAULT_TOLERANCE_SEC = 300
_PREFIX = "whsec_"


class WebhookVerificationError(Exception):
    """The request is not provably from the holder of the secret: answer it with a 4xx.

    ``code`` is one of ``missing_headers``, ``invalid_timestamp``, ``timestamp_out_of_range``,
    ``no_matching_signature``.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _key(secret):
    encoded = secret[len(_PREFIX):] if secret.startswith(_PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # A configuration error, not a bad request: never echo the secret.
        raise ValueError("a signing secret must be 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("a signing secret must not be empty")
    return key


def _header(headers, name):
    """One header from any mapping: Flask, Django and Starlette headers ignore case, a plain dict may not."""
    value = headers.get(name)
    if value is None:
        for key in headers.keys():
            if key.lower() == name:
                value = headers[key]
                break
    if isinstance(value, (list, tuple)):
        # A repeated id or timestamp is as good as none; repeated signature headers are joined.
        if name != "webhook-signature" and len(value) != 1:
            return None
        value = " ".join(value)
    return value


def verify(secrets, headers, body, tolerance_sec=DEFAULT_TOLERANCE_SEC, now=None):
    """Return when a ``v1`` signature in ``webhook-signature`` matches one of ``secrets`` and
    ``webhook-timestamp`` is within ``tolerance_sec`` of ``now`` (unix seconds, default: the clock).

    ``secrets`` is a string or a list of strings (old and new during a rotation); ``body`` is the raw
    request body as bytes (or str, encoded as UTF-8). Raises WebhookVerificationError otherwise.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    keys = [_key(s) for s in secrets]
    if not keys:
        raise ValueError("verify needs at least one secret")
    if isinstance(body, str):
        body = body.encode("utf-8")

    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError(
            "missing_headers", "webhook-id, webhook-timestamp and webhook-signature must each be present once"
        )
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
        raise WebhookVerificationError("invalid_timestamp", "webhook-timestamp is not whole unix seconds")
    now = int(time.time()) if now is None else int(now)
    if abs(now - int(timestamp)) > tolerance_sec:
        raise WebhookVerificationError(
            "timestamp_out_of_range",
            "webhook-timestamp is %d s from now; at most %d s is accepted" % (now - int(timestamp), tolerance_sec),
        )

    signed = msg_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body
    expected = [base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in keys]
    for versioned in signatures.split():
        version, _, given = versioned.partition(",")
        if version != "v1":
            continue
        for candidate in expected:
            # Compare the base64 text in constant time; decoding first would accept altered encodings.
            if hmac.compare_digest(given.encode("ascii", "replace"), candidate):
                return
    raise WebhookVerificationError("no_matching_signature", "no v1 signature matches the secret")
