"""WSGI entry point: any WSGI server (gunicorn, uWSGI, mod_wsgi) serves project.wsgi:application."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()

from hooks.work import start_worker  # noqa: E402 (needs the apps loaded above)

start_worker()
