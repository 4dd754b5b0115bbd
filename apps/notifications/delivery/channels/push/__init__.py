"""Push: the gateways (``gateway``: FCM, APNs-style, with fallback) and the channel sending through them."""
