"""Intake: events in (the handler registry), inbox items, digests, the live doorbell, and the
delivery outcomes that come back."""
