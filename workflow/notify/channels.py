"""Where notifications go: e-mail over SMTP and group-robot webhooks (DingTalk, WeCom,
Feishu). In-app notifications are rows in the database (see ``bell``), not a channel here.

A channel's ``send`` either returns (delivered) or raises :class:`DeliveryError`; the
dispatcher retries with backoff and finally marks the message failed for admins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from .templates import Rendered

WEBHOOK_FORMATS = ("dingtalk", "wecom", "feishu")
TIMEOUT_SECONDS = 10.0


class DeliveryError(Exception):
    """A channel could not deliver; the message is retried later."""


@dataclass(frozen=True)
class Recipient:
    user_id: int
    username: str
    name: str
    email: str | None
    mobile: str | None
    language: str
    timezone: str


class Channel(Protocol):
    name: str
    per_recipient: bool
    """True: one copy per person (e-mail); False: one copy per message (a group robot)."""

    def send(self, message: Rendered, recipients: Sequence[Recipient]) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "innoflow@localhost"
    starttls: bool = False


class EmailChannel:
    name = "email"
    per_recipient = True

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: Rendered, recipients: Sequence[Recipient]) -> None:
        addresses = [r.email for r in recipients if r.email]
        if not addresses:
            raise DeliveryError("no e-mail address")
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(addresses)
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.settings.host, self.settings.port,
                              timeout=TIMEOUT_SECONDS) as smtp:
                if self.settings.starttls:
                    smtp.starttls()
                if self.settings.user:
                    smtp.login(self.settings.user, self.settings.password or "")
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {exc}") from exc


def webhook_payload(fmt: str, text: str, mobiles: Sequence[str] = ()) -> dict[str, Any]:
    """The body a group robot expects for a plain text message."""
    if fmt == "dingtalk":
        return {"msgtype": "text", "text": {"content": text},
                "at": {"atMobiles": list(mobiles), "isAtAll": False}}
    if fmt == "wecom":
        return {"msgtype": "text", "text": {"content": text,
                                            "mentioned_mobile_list": list(mobiles)}}
    if fmt == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    raise ValueError(f"unknown webhook format {fmt!r} (one of {WEBHOOK_FORMATS})")


def _accepted(fmt: str, answer: Any) -> str | None:
    """None when the robot accepted the message, else its complaint."""
    if not isinstance(answer, dict):
        return "answer is not a JSON object"
    if fmt in ("dingtalk", "wecom"):
        code = answer.get("errcode", 0)
        return None if code == 0 else f"errcode {code}: {answer.get('errmsg', '')}"
    code = answer.get("code", answer.get("StatusCode", 0))
    return None if code == 0 else f"code {code}: {answer.get('msg', answer.get('StatusMessage'))}"


def _sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"",
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class WebhookChannel:
    name = "webhook"
    per_recipient = False

    def __init__(self, url: str, fmt: str, secret: str | None = None) -> None:
        if fmt not in WEBHOOK_FORMATS:
            raise ValueError(f"unknown webhook format {fmt!r} (one of {WEBHOOK_FORMATS})")
        self.url = url
        self.format = fmt
        self.secret = secret

    def _signed(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if not self.secret:
            return self.url, payload
        if self.format == "dingtalk":
            stamp = str(int(time.time() * 1000))
            digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(),
                              hashlib.sha256).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
            joiner = "&" if "?" in self.url else "?"
            return f"{self.url}{joiner}timestamp={stamp}&sign={sign}", payload
        if self.format == "feishu":
            stamp = str(int(time.time()))
            return self.url, {**payload, "timestamp": stamp, "sign": _sign(self.secret, stamp)}
        return self.url, payload

    def send(self, message: Rendered, recipients: Sequence[Recipient]) -> None:
        mobiles = [r.mobile for r in recipients if r.mobile]
        names = "、".join(r.name for r in recipients)
        text = message.text + (f"\n@{names}" if names else "")
        url, payload = self._signed(webhook_payload(self.format, text, mobiles))
        request = urllib.request.Request(
            url, data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                body = answer.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"webhook: {exc}") from exc
        try:
            problem = _accepted(self.format, json.loads(body or b"{}"))
        except ValueError:
            problem = "answer is not JSON"
        if problem:
            raise DeliveryError(f"webhook refused: {problem}")
