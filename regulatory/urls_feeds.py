"""Feeds and exports: Atom, iCalendar, CSV, XLSX."""

from django.urls import path

from regulatory import exports, feeds

urlpatterns = [
    path("feeds/decisions.atom", feeds.decisions_atom, name="regulatory-feed-decisions"),
    path("feeds/upcoming.ics", feeds.upcoming_ics, name="regulatory-feed-upcoming"),
    path("exports/decisions.csv", exports.decisions_csv, name="regulatory-export-decisions"),
    path("exports/matrix.csv", exports.matrix_csv, name="regulatory-export-matrix-csv"),
    path("exports/matrix.xlsx", exports.matrix_xlsx, name="regulatory-export-matrix-xlsx"),
]
