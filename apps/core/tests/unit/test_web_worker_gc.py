"""A web worker takes what it loaded at start out of the cyclic collector's generations."""

import gc
import sys

from config import watchdog


def test_the_loaded_views_are_frozen_and_what_requests_make_is_still_collected():
    gc.unfreeze()
    try:
        watchdog.freeze_loaded_objects()
        # The views come with the URLconf: loaded, then frozen with the rest.
        assert "apps.ratings.api.provider_views" in sys.modules
        frozen = gc.get_freeze_count()
        assert frozen > 10_000

        class Cycle:
            pass

        made = Cycle()
        made.me = made
        del made
        assert gc.collect() >= 1  # garbage made after the freeze is collected as before
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
