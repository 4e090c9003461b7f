"""`cached_read`, the one decorator of the HTTP cache, on a function view and
on a DRF view class."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponse, HttpResponseNotFound
from django.test import RequestFactory
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from regulatory.httpcache import cached_read

pytestmark = pytest.mark.django_db
factory = RequestFactory()


def counting_view(response_class=HttpResponse):
    calls = []

    def view(request):
        calls.append(request.method)
        return response_class("body")

    return view, calls


def get(view, *, user=None, cookie=False, **headers):
    request = factory.get("/page/", **headers)
    request.user = user or AnonymousUser()
    if cookie:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = "a-session"
    return view(request)


def test_a_function_view_answers_a_current_copy_with_304_without_running():
    view, calls = counting_view()
    cached = cached_read()(view)

    first = get(cached)
    second = get(cached, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and first["ETag"]
    assert "no-cache" in first["Cache-Control"] and "public" in first["Cache-Control"]
    assert second.status_code == 304
    assert calls == ["GET"]


def test_other_methods_go_straight_to_the_view():
    view, calls = counting_view()
    request = factory.post("/page/")
    request.user = AnonymousUser()

    response = cached_read()(view)(request)

    assert not response.has_header("ETag")
    assert calls == ["POST"]


def test_anonymous_only_gives_a_signed_in_reader_a_fresh_page_every_time():
    view, calls = counting_view()
    cached = cached_read(anonymous_only=True)(view)
    alice = User(username="alice")
    etag = get(cached)["ETag"]

    response = get(cached, user=alice, cookie=True, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert not response.has_header("ETag")
    assert calls == ["GET", "GET"]


def test_an_answer_other_than_200_is_not_stamped():
    view, _calls = counting_view(HttpResponseNotFound)

    response = get(cached_read()(view))

    assert response.status_code == 404
    assert not response.has_header("ETag")


def test_a_class_decorated_under_a_decorated_parent_wraps_drf_once():
    @cached_read()
    class Parent(GenericAPIView):
        def get(self, request):
            return Response({})

    get_of_parent, dispatch_of_parent = Parent.get, Parent.dispatch

    @cached_read(depends_on_today=True)
    class Child(Parent):
        pass

    assert Child.get is not get_of_parent
    assert Child.get.__wrapped__ is get_of_parent.__wrapped__
    assert Child.dispatch.__wrapped__ is APIView.dispatch
    assert dispatch_of_parent.__wrapped__ is APIView.dispatch


def test_a_drf_view_asks_who_reads_and_keeps_an_editors_answer_private():
    @cached_read()
    class Api(GenericAPIView):
        permission_classes: list = []
        authentication_classes: list = []

        def cache_viewer(self, request):
            return "editor"

        def get(self, request):
            return Response({"ok": True})

    request = factory.get("/api/thing/", HTTP_AUTHORIZATION="Token x")
    response = Api.as_view()(request)
    response.render()

    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    assert response["Allow"] == "GET, HEAD, OPTIONS"
