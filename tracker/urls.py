"""Subscriber pages (/subscribe/, confirm, manage, unsubscribe) and the subscriptions API."""
from django.urls import path

urlpatterns: list = []
