import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not settings.configured:
    # A web server process (gunicorn): config/settings/base.py bounds its
    # database waits. Not said when imported by a process already running.
    os.environ.setdefault("TRACKER_WEB_PROCESS", "1")
application = get_wsgi_application()
