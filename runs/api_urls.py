"""The intake API, mounted by portal/urls.py at ``api/v1/``."""

from django.urls import path

from runs.api import api

urlpatterns = [path("", api.urls)]
