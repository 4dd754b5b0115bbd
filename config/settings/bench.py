"""Settings for ``make bench`` only (bench/run.py): production, with webhooks allowed to a
plain-HTTP receiver on loopback, and its in-run baseline view routed.

Everything else is ``config.settings.production``. The benchmark's webhook receivers listen on
``http://127.0.0.<n>:<port>``, which production refuses on purpose (``OUTBOUND_REQUIRE_HTTPS``,
``OUTBOUND_ALLOW_LOOPBACK`` are pinned there). This module exists only so the benchmark's
throwaway stack on loopback can measure webhook deliveries; never deploy with it.
"""

from .production import *  # noqa: F403

# The main URLconf plus the benchmark's in-run baseline view (one bare INSERT).
ROOT_URLCONF = "config.urls_bench"

OUTBOUND_ALLOW_LOOPBACK = True
OUTBOUND_REQUIRE_HTTPS = False
