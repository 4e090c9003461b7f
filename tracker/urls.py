"""Subscriber pages (/subscribe/, confirm, manage, unsubscribe) and the subscriptions API."""

from django.urls import path

from tracker import api, views

urlpatterns = [
    path("subscribe/", views.subscribe, name="tracker-subscribe"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="tracker-confirm"),
    path("subscribe/manage/<str:token>/", views.manage, name="tracker-manage"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="tracker-unsubscribe"),
    path("api/v1/subscriptions/", api.SubscriptionCreateApi.as_view(), name="tracker-api-subscriptions"),
]
