"""The external channels, each a ``ChannelSender`` (see ``base``)."""

from apps.notifications.channels.base import ChannelSender
from apps.notifications.channels.email import EmailChannel
from apps.notifications.channels.push import PushChannel
from apps.notifications.channels.webhook import WebhookChannel
from apps.notifications.models import Channel

CHANNELS: dict[str, ChannelSender] = {
    Channel.EMAIL: EmailChannel(),
    Channel.WEBHOOK: WebhookChannel(),
    Channel.PUSH: PushChannel(),
}


def channel_for(name: str) -> ChannelSender:
    return CHANNELS[name]
