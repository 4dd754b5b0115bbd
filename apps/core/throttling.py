from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user throttle, for authenticated requests only.

    DRF's own also counts anonymous requests, per client IP, under the ``user`` rate; the
    ``anon`` throttle already counts them per IP under a rate that is not looser (600/min
    against 1200/min by default), so that second count could only refuse what the first
    had refused, and cost every anonymous request two more cache round trips.
    """

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
