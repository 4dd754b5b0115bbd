"""Settings for ``make bench`` only (bench/run.py): production, with webhooks allowed to a
plain-HTTP receiver on loopback.

Everything else is ``config.settings.production``. The benchmark's webhook receivers listen on
``http://127.0.0.<n>:<port>``, which production refuses on purpose (``OUTBOUND_REQUIRE_HTTPS``,
``OUTBOUND_ALLOW_LOOPBACK`` are pinned there). This module exists only so the benchmark's
throwaway stack on loopback can measure webhook deliveries; never deploy with it.
"""

from .production import *  # noqa: F403

OUTBOUND_ALLOW_LOOPBACK = True
OUTBOUND_REQUIRE_HTTPS = False
