"""Bench-only URLs, included by config/urls.py under /__bench__/ when BENCH=1."""

from django.urls import path

from bench import views

urlpatterns = [
    path("json/", views.json_of_size, name="bench-json"),
]
