"""Delivery: the engine (claim, send through a channel, record, sweep, replay) and the channels.

Imports nothing of the intake or the subscriptions; what its outcomes mean to them is reported
through ``outcomes``."""
