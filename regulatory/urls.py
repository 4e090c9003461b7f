"""HTML pages for analysts (matrix, timeline, decision, programmes)."""

from django.urls import path

from regulatory import views

urlpatterns = [
    path("", views.matrix, name="regulatory-matrix"),
    path("timeline/", views.timeline, name="regulatory-timeline"),
    path("decisions/<int:pk>/", views.decision, name="regulatory-decision"),
    path("programmes/", views.programmes, name="regulatory-programmes"),
    path("compare/", views.compare, name="regulatory-compare"),
]
