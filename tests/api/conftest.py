"""Fixtures for the API tests (the API clients of the named actors are in tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def response_cache(settings):
    settings.RESPONSE_CACHE_SECONDS = 60
    # A key prefix of our own, so that nothing another test kept can answer.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    # Keys expire on their own; nothing else in this Redis is touched.
