"""Feeds and exports: Atom, iCalendar, CSV."""
from django.urls import path

urlpatterns: list = []
