"""HTML pages for analysts (matrix, timeline, decision, programmes)."""
from django.urls import path

urlpatterns: list = []
