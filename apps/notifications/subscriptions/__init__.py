"""Subscriptions: what a recipient keeps here (webhook endpoints, devices, preferences, schedule)."""
