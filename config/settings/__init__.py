"""Settings for the regulatory status tracker, read from the environment.

Every value has a default that runs the tracker on a machine with only Python
(SQLite under var/, the embedded Redis started by `make run`, mail to a local
sink); production sets DATABASE_URL, REDIS_URL, EMAIL_HOST, SECRET_KEY,
ALLOWED_HOSTS and an https SITE_URL. See README.md.

DJANGO_SETTINGS_MODULE stays `config.settings`: this package gathers the
blocks of its modules (Django reads the upper-case names).
"""

from config.settings.base import *  # noqa: F403 - the settings are the modules' upper-case names
from config.settings.tasks import *  # noqa: F403
