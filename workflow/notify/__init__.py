"""Notifications from the outbox: e-mail (SMTP), group-robot webhooks (DingTalk, WeCom,
Feishu) and the in-app bell; texts per message key in zh-CN and English. Never sent from
inside an action's transaction."""

from .channels import DeliveryError, EmailChannel, Recipient, SmtpSettings, WebhookChannel
from .dispatch import Failure, Notifier, deliver, failures, fan_out, requeue
from .templates import Rendered, render

__all__ = [
    "DeliveryError",
    "EmailChannel",
    "Failure",
    "Notifier",
    "Recipient",
    "Rendered",
    "SmtpSettings",
    "WebhookChannel",
    "deliver",
    "failures",
    "fan_out",
    "render",
    "requeue",
]
