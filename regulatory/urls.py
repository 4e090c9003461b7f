"""HTML pages for analysts (matrix, timeline, decision, programmes)."""

from django.urls import path

from regulatory import views, views_analysts

urlpatterns = [
    path("", views.matrix, name="regulatory-matrix"),
    path("timeline/", views.timeline, name="regulatory-timeline"),
    path("decisions/<int:pk>/", views.decision, name="regulatory-decision"),
    path("programmes/", views.programmes, name="regulatory-programmes"),
    path("compare/", views.compare, name="regulatory-compare"),
    path("jurisdictions/<str:code>/", views_analysts.jurisdiction, name="regulatory-jurisdiction"),
    path("therapies/<str:slug>/", views_analysts.therapy, name="regulatory-therapy"),
    path("search/", views_analysts.search, name="regulatory-search"),
    path("calendar/", views_analysts.calendar, name="regulatory-calendar"),
]
