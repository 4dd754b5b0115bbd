"""The external channels, each a ``ChannelSender`` (see ``base``)."""

from apps.notifications.delivery.channels.base import ChannelSender
from apps.notifications.delivery.channels.email.channel import EmailChannel
from apps.notifications.delivery.channels.push.channel import PushChannel
from apps.notifications.delivery.channels.webhook.channel import WebhookChannel
from apps.notifications.models import Channel

CHANNELS: dict[str, ChannelSender] = {
    Channel.EMAIL: EmailChannel(),
    Channel.WEBHOOK: WebhookChannel(),
    Channel.PUSH: PushChannel(),
}


def channel_for(name: str) -> ChannelSender:
    return CHANNELS[name]
