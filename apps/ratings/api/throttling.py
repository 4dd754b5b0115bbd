from apps.core.throttling import AnonRateThrottle, UserRateThrottle


class RatingSubmitThrottle(UserRateThrottle):
    """Caps rating submissions per user (``THROTTLE_RATING_SUBMIT``); reads are not counted."""

    scope = "rating_submit"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class HelpfulVoteThrottle(UserRateThrottle):
    """Helpful votes (and withdrawals) per account: ``THROTTLE_HELPFUL_VOTE``."""

    scope = "helpful_vote"


class HelpfulVoteIPThrottle(AnonRateThrottle):
    """Helpful votes per client IP, whichever account (``THROTTLE_HELPFUL_VOTE_IP``): many fresh
    accounts from one machine count together."""

    scope = "helpful_vote_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
