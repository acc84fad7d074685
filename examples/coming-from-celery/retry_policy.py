"""A Celery task's retry options as a Hookline subscription's retry policy, with both delay formulas.

    python3 retry_policy.py    # prints the mapping of Celery's defaults and both delay bounds per retry
"""
import json


def celery_countdown_bound(retries, retry_backoff=True, retry_backoff_max=600):
    """Celery (celery/utils/time.py, get_exponential_backoff_interval): the countdown in seconds before
    retry number retries + 1 is random.randrange(bound + 1) with retry_jitter, else the bound itself."""
    factor = int(max(1.0, float(retry_backoff)))  # retry_backoff=True means a factor of 1 second
    return min(retry_backoff_max, factor * 2**retries)


def hookline_retry(retry_backoff=True, retry_backoff_max=600, max_retries=3):
    """The subscription's "retry" object that gives the same delays. Hookline always jitters."""
    factor = int(max(1.0, float(retry_backoff)))
    return {
        "maxAttempts": max_retries + 1,  # Celery counts retries, Hookline counts attempts
        "initialDelayMs": factor * 1000,
        "maxDelayMs": retry_backoff_max * 1000,
        "multiplier": 2,  # fixed in Celery
    }


def hookline_delay_bound(retry, failed_attempt):
    """Hookline (shared/backoff.ts): the delay after attempt n failed is uniformly random in
    [0, min(maxDelayMs, initialDelayMs * multiplier ** (n - 1))) milliseconds."""
    grown = retry["initialDelayMs"] * retry["multiplier"] ** (failed_attempt - 1)
    return min(retry["maxDelayMs"], grown)


if __name__ == "__main__":
    celery = {"retry_backoff": True, "retry_backoff_max": 600, "max_retries": 3}
    retry = hookline_retry(**celery)
    rows = [
        {"retry": n, "celery_max_s": celery_countdown_bound(n - 1, celery["retry_backoff"], celery["retry_backoff_max"]),
         "hookline_max_ms": hookline_delay_bound(retry, n)}
        for n in range(1, celery["max_retries"] + 1)
    ]
    print(json.dumps({"celery": celery, "retry": retry, "delays": rows}, indent=2))
