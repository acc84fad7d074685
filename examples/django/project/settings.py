"""Settings of the Hookline receiver example: one app (hooks), SQLite, no admin or sessions."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A development default so the example runs as checked out; set DJANGO_SECRET_KEY anywhere real.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["hooks"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("HOOKS_DATABASE", str(BASE_DIR / "db.sqlite3")),
        # The worker thread and request threads write the same file; wait for the lock instead of failing.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# The subscription's signing secret (whsec_…), or two separated by a space (new first) during a rotation.
HOOKLINE_SECRETS = os.environ.get("HOOKLINE_SECRET", "").split()
# How far webhook-timestamp may be from now, either way.
HOOKLINE_TOLERANCE_SEC = 300
