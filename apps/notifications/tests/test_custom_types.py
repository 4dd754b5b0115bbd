"""NOTIFICATIONS_CUSTOM_TYPES: declared custom notice types, checked when the app loads."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.notifications.custom_notices import custom_types
from apps.notifications.events import EVENT_TYPE_NAMES, EVENT_TYPES
from apps.notifications.models import Channel


def test_a_declared_type_is_a_notice_type_with_every_switchable_channel():
    [(name, spec)] = custom_types({"custom.booking": {"label": "Booking", "channels": ["push"]}}).items()
    assert name == "custom.booking"
    assert (spec.label, spec.defaults, spec.critical, spec.digestible, spec.email_only) == (
        "Booking",
        {Channel.IN_APP: False, Channel.EMAIL: False, Channel.PUSH: True},
        False,
        False,
        False,
    )


def test_the_default_declaration_is_registered_and_in_the_api_enum():
    assert "custom.message" in EVENT_TYPES
    assert "custom.message" in EVENT_TYPE_NAMES


@pytest.mark.parametrize(
    "declared",
    [
        {"booking": {"label": "No prefix", "channels": []}},
        {"custom.x": {"channels": ["email"]}},
        {"custom.x": {"label": "Webhook is no switch", "channels": ["webhook"]}},
        {"custom.x": {"label": "Channels must be a list", "channels": "email"}},
        {"custom.x": "not an object"},
        {"custom." + "x" * 100: {"label": "Too long", "channels": []}},
    ],
)
def test_a_malformed_declaration_stops_the_start(declared):
    with pytest.raises(ImproperlyConfigured, match="NOTIFICATIONS_CUSTOM_TYPES"):
        custom_types(declared)
