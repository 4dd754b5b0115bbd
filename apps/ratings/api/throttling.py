from apps.core.throttling import UserRateThrottle


class RatingSubmitThrottle(UserRateThrottle):
    """Caps rating submissions per user (``THROTTLE_RATING_SUBMIT``); reads are not counted."""

    scope = "rating_submit"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
