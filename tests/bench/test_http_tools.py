"""The HTTP phase's cache hygiene: only kept response bodies are deleted."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from bench.http import _response_cache_clear

pytestmark = pytest.mark.skipif(
    "redis" not in settings.CACHES["default"]["BACKEND"].lower(), reason="the bench clears kept bodies in Redis"
)


def test_it_deletes_kept_bodies_and_nothing_else():
    tag = uuid.uuid4().hex
    body_key, other_key = f"body:{tag}", f"bench-test-other:{tag}"
    cache.set(body_key, b"kept", 60)
    cache.set(other_key, b"rate limit", 60)
    try:
        assert _response_cache_clear() >= 1
        assert cache.get(body_key) is None
        assert cache.get(other_key) == b"rate limit"
    finally:
        cache.delete_many([body_key, other_key])
