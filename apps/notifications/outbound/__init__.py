"""Outbound delivery building blocks: SSRF guard, pinned HTTP client, Standard Webhooks signing,
retry policy, shared circuit breakers, per-destination concurrency limits and push-provider
fallback.

Nothing here defines models or touches the database: the notifications app keeps the
delivery state (DESIGN.md §3) and calls these functions.
"""
