"""Fixtures of the HTTP cache, for every test (a plugin named in
tests/conftest.py): rendered reads are not kept and the record version is
queried on every read, unless a test asks for them (`response_cache`, and
tests/httpcache/test_version.py)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(autouse=True)
def _no_response_cache(settings):
    """Keep rendered reads out of the cache: ids repeat across tests once their
    transactions roll back (SQLite), and with them ETags, so a body kept by one
    test could answer another. tests/httpcache/test_response_cache.py turns it on
    (the `response_cache` fixture)."""
    settings.RESPONSE_CACHE_SECONDS = 0
    from regulatory.httpcache.bodies import local_bodies

    local_bodies.clear()
    yield
    local_bodies.clear()


@pytest.fixture(autouse=True)
def _no_record_version_listen(settings):
    """Query the record version on every read: a test's transaction never
    commits, so no NOTIFY would ever tell a kept version that it is stale.
    tests/httpcache/test_version.py turns it on (transaction=True tests)."""
    from regulatory.httpcache import version

    settings.RECORD_VERSION_LISTEN = False
    yield
    version.reset()


@pytest.fixture
def response_cache(settings):
    settings.RESPONSE_CACHE_SECONDS = 60
    # A key prefix of our own, so that nothing another test kept can answer.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    # Keys expire on their own; nothing else in this Redis is touched.
