from apps.core.throttling import UserRateThrottle


class WebhookTestThrottle(UserRateThrottle):
    """Caps webhook test sends per user (``THROTTLE_WEBHOOK_TEST``): each one makes a request
    to a URL of the user's choosing, so the endpoint must not be a way to flood a receiver."""

    scope = "webhook_test"
