"""How the site is served: compressed, long-cached static files; security
headers on every response."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/timeline/",
        "/api/v1/decisions/",
        "/api/v1/docs/",
        "/api/v1/schema/",
        "/feeds/decisions.atom",
        "/healthz",
        "/admin/login/",
        "/no-such-page/",
        "/static/css/site.css",
        "/static/js/site.js",
    ],
)
def test_it_sends_a_strict_content_security_policy_and_a_permissions_policy(client, path):
    response = client.get(path)

    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("path", ["/", "/timeline/", "/programmes/", "/subscribe/", "/api/v1/docs/"])
def test_it_serves_pages_with_no_inline_script_or_style(client, path, dataset):
    html = client.get(path).content.decode()

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"<style\b", html) == []
    assert re.findall(r"\sstyle=", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []


def test_it_redirects_the_favicon_to_the_site_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"].endswith(".svg")


@pytest.fixture(scope="module")
def collected(tmp_path_factory, django_db_blocker):
    """collectstatic with the production storage, for the site's own files and
    Swagger UI's (the admin's and DRF's left out: they take long to compress)."""
    root = tmp_path_factory.mktemp("static")
    from django.test import override_settings

    with override_settings(
        STATIC_ROOT=root,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "config.storage.StaticStorage", "OPTIONS": {"hashed_urls": True}},
        },
    ):
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin", "rest_framework"])
    return root


@pytest.fixture
def production_static(collected, settings):
    settings.STATIC_ROOT = collected
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "config.storage.StaticStorage", "OPTIONS": {"hashed_urls": True}},
    }
    settings.WHITENOISE_USE_FINDERS = False
    settings.DEBUG = False
    return collected


def _hashed(url: str) -> bool:
    return re.search(r"\.[0-9a-f]{12}\.\w+$", url) is not None


@pytest.mark.parametrize(("encoding", "suffix"), [("br", ".br"), ("gzip", ".gz")])
def test_it_serves_hashed_compressed_static_files_with_a_long_immutable_max_age(production_static, encoding, suffix):
    from django.templatetags.static import static

    client = Client()  # a new handler: WhiteNoise reads the settings when it starts
    for name in ("css/site.css", "js/site.js", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"):
        url = static(name)
        assert _hashed(url), url

        response = client.get(url, HTTP_ACCEPT_ENCODING=f"{encoding}, identity")

        assert response.status_code == 200, url
        assert response["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response["Vary"]
        assert "immutable" in response["Cache-Control"]
        max_age = int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))
        assert max_age >= 365 * 24 * 3600
        body = b"".join(response.streaming_content)
        assert body == (production_static / (url.removeprefix("/static/") + suffix)).read_bytes()


def test_it_compresses_the_swagger_bundle_well(production_static):
    from django.templatetags.static import static

    url = static("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    original = (production_static / url.removeprefix("/static/")).stat().st_size
    compressed = (production_static / (url.removeprefix("/static/") + ".br")).stat().st_size

    assert compressed < original / 3


def test_it_links_the_hashed_names_from_the_pages(production_static):
    html = Client().get("/api/v1/docs/").content.decode()

    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 3
    assert all(_hashed(src) for src in scripts), scripts
