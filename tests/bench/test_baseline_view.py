"""The bench-only baseline view: exact sizes, and never mounted without BENCH=1."""

from __future__ import annotations

import importlib

import pytest
from django.test import RequestFactory
from django.urls import clear_url_caches

from bench import views


@pytest.fixture
def bench_urls(settings):
    """config.urls re-imported with the BENCH setting on, then restored."""
    import config.urls

    settings.BENCH_ENABLED = True
    clear_url_caches()
    importlib.reload(config.urls)
    yield
    settings.BENCH_ENABLED = False
    clear_url_caches()
    importlib.reload(config.urls)


def test_it_is_not_mounted_without_the_bench_setting(client, settings):
    assert settings.BENCH_ENABLED is False
    response = client.get("/__bench__/json/?size=100")
    assert response.status_code == 404


def test_it_is_mounted_with_the_bench_setting(client, bench_urls):
    response = client.get("/__bench__/json/?size=100")
    assert response.status_code == 200
    assert len(response.content) == 100


@pytest.mark.parametrize("size", [9, 10, 4096, 1_771_028])
def test_it_returns_a_body_of_exactly_the_size_asked(size):
    response = views.json_of_size(RequestFactory().get("/", {"size": size}))
    assert response["Content-Type"] == "application/json"
    assert len(response.content) == size


def test_it_returns_an_empty_object_below_the_envelope_size():
    response = views.json_of_size(RequestFactory().get("/", {"size": 0}))
    assert response.content == b"{}"


@pytest.mark.parametrize("raw", ["-1", "abc", "1e3", str(views.MAX_SIZE + 1)])
def test_it_rejects_a_bad_size_naming_the_parameter(raw):
    response = views.json_of_size(RequestFactory().get("/", {"size": raw}))
    assert response.status_code == 400
    assert b'"size"' in response.content
