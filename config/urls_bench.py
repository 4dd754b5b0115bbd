"""The benchmark's URLconf (``config.settings.bench`` only): the main one plus the in-run baseline.

The bare one-INSERT view lives here, not in ``config.urls``, so no deployment routes it.
"""

from django.urls import path

from config.bench_baseline import baseline_insert
from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as main_urlpatterns

urlpatterns = [
    *main_urlpatterns,
    path("bench/baseline-insert", baseline_insert, name="bench-baseline-insert"),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
