"""The code's version: the validators' source for answers that depend on the
code and the settings, never on the record (the OpenAPI schema, the API
docs page). They change only on a deploy, so their ETag is a digest of what
a deploy changes: the project's Python sources and templates, the versions
of the libraries that build the answer, and the settings they read."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from importlib import metadata
from pathlib import Path

from django.conf import settings

from regulatory.selectors import RecordVersion

# The project's own code; other directories (tests, node_modules, the venv)
# are not deployed code the answers depend on.
_PACKAGES = ("config", "regulatory", "tracker", "watch", "templates")
_SUFFIXES = (".py", ".html")
_LIBRARIES = ("django", "djangorestframework", "drf-spectacular", "drf-spectacular-sidecar", "django-filter")


@functools.cache
def _code_digest() -> tuple[str, dt.datetime | None]:
    """A digest of the project's sources and libraries, and the newest
    source's modification time: worked out once per process (a deploy starts
    new processes)."""
    digest = hashlib.sha256()
    newest = 0.0
    base = Path(settings.BASE_DIR)
    for package in _PACKAGES:
        root = base / package
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES and p.is_file()):
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
            newest = max(newest, path.stat().st_mtime)
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none\0".encode())
    last_modified = dt.datetime.fromtimestamp(int(newest), tz=dt.UTC) if newest else None
    return digest.hexdigest()[:32], last_modified


def code_version() -> RecordVersion:
    """The code and the settings the schema is built from, as a version."""
    code, last_modified = _code_digest()
    # Settings can differ between deploys of one code (and tests override
    # them): the ones that shape the schema are part of the version.
    shaping = repr((settings.SPECTACULAR_SETTINGS, settings.REST_FRAMEWORK, settings.SITE_URL))
    key = "code:" + code + ":" + hashlib.sha256(shaping.encode()).hexdigest()[:16]
    return RecordVersion(key=key, last_modified=last_modified)
