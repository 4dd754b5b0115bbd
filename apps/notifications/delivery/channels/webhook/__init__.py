"""Webhooks: the body (``payload``), its signature (``signing``) and the channel sending it over
the shared HTTP client with its SSRF guard (``apps.notifications.outbound``)."""
