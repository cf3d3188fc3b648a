"""The portal's settings with one more URL: the bare view ``bench/pages.py`` compares pages to.

Used only by the benchmark's gunicorn (``DJANGO_SETTINGS_MODULE=bench.pages_settings``).
"""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
