"""The ``email`` action: send one plain-text mail per event through an SMTP server.

``security`` picks the transport: ``starttls`` (default, port 587) upgrades a
plain connection and fails if the server cannot; ``tls`` (port 465) is TLS from
the first byte; ``none`` (port 25) is for relays inside the cluster and refuses
a password, which would cross the network in clear text. Temporary failures
(4xx replies, refused or dropped connections, timeouts) are retryable;
5xx replies and certificate problems are permanent. The password is a value
source read at send time and never appears in messages. A server's reply text
is not put into errors (they become Events and status): an error names the
reply code and its enhanced status code (``535 5.7.8``); the text itself is
logged at debug level only, scrubbed of registered secrets.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from runner import redact
from runner.actions import fields
from runner.actions.base import (
    ActionContext,
    ActionError,
    ActionKind,
    ParseContext,
    PermanentActionError,
    RetryableActionError,
)
from runner.actions.tls import TlsConfig, parse_tls
from runner.actions.values import ValueSource, parse_value_source, secret_permissions
from runner.event import Event
from runner.permissions import Permission
from runner.spec.durations import parse_duration
from runner.spec.errors import SpecError
from runner.spec.template import TextTemplate, compile_text

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SECURITY = tuple(DEFAULT_PORTS)
DEFAULT_TIMEOUT = 30.0
DEFAULT_SUBJECT = "[kubectl-trigger] {{ .trigger.namespace }}/{{ .trigger.name }}: {{ .event }}"
DEFAULT_BODY = (
    "Trigger {{ .trigger.namespace }}/{{ .trigger.name }} fired at {{ .time }}:\n"
    "{{ .event }} {{ .object.kind }} {{ .object.metadata.namespace }}/{{ .object.metadata.name }}\n"
)
_SMTP_KEYS = ("host", "port", "security", "username", "password", "tls", "timeout")
_ADDRESS_FIX = "write a plain address such as alerts@example.com"


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to submit mail."""

    host: str
    port: int
    security: str
    username: ValueSource | None
    password: ValueSource | None
    tls: TlsConfig
    timeout: float

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EmailConfig:
    """One mail: server, sender, recipients, subject and body templates."""

    smtp: SmtpConfig
    sender: str
    to: tuple[str, ...]
    subject: TextTemplate
    body: TextTemplate


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> EmailConfig:
    """Check the SMTP settings, addresses and templates."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("smtp", "from", "to", "subject", "body"))
    if spec.get("smtp") is None:
        raise SpecError(f"{field}.smtp", "is required", "e.g. smtp: {host: smtp.example.com}")
    sender = _address(fields.string(spec, "from", field), f"{field}.from")
    to = tuple(
        _address(a, f"{field}.to[{i}]") for i, a in enumerate(fields.string_list(spec, "to", field))
    )
    return EmailConfig(
        smtp=_smtp(spec["smtp"], f"{field}.smtp"),
        sender=sender,
        to=to,
        subject=compile_text(spec.get("subject") or DEFAULT_SUBJECT, f"{field}.subject"),
        body=compile_text(spec.get("body") or DEFAULT_BODY, f"{field}.body"),
    )


def _smtp(raw: Any, field: str) -> SmtpConfig:
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, _SMTP_KEYS)
    host = fields.string(spec, "host", field)
    security = fields.choice(spec, "security", field, SECURITY, default="starttls")
    port = fields.integer(spec, "port", field, low=1, high=65535) or DEFAULT_PORTS[security]
    username = _optional_source(spec, "username", field)
    password = _optional_source(spec, "password", field)
    if (username is None) != (password is None):
        missing = "password" if password is None else "username"
        raise SpecError(
            f"{field}.{missing}",
            "is required with " + ("username" if missing == "password" else "password"),
        )
    if password is not None and security == "none":
        raise SpecError(
            f"{field}.security",
            "none would send the password in clear text",
            "use starttls or tls",
        )
    tls = parse_tls(spec.get("tls"), f"{field}.tls")
    if security == "none" and spec.get("tls") is not None:
        raise SpecError(f"{field}.tls", "has no effect with security: none", "remove tls")
    timeout = DEFAULT_TIMEOUT
    if spec.get("timeout") is not None:
        timeout = parse_duration(spec["timeout"], f"{field}.timeout")
        if timeout <= 0:
            raise SpecError(f"{field}.timeout", "must be more than 0s", "e.g. 30s")
    return SmtpConfig(host, port, security, username, password, tls, timeout)


def _optional_source(spec: Mapping[str, Any], key: str, field: str) -> ValueSource | None:
    if spec.get(key) is None:
        return None
    return parse_value_source(spec[key], f"{field}.{key}")


def _address(text: str, field: str) -> str:
    local, at, domain = text.partition("@")
    bad = not at or not local or not domain or any(c in text for c in " <>,;\r\n\t")
    if bad:
        raise SpecError(field, f"{text!r} is not an e-mail address", _ADDRESS_FIX)
    return text


def permissions(config: EmailConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` on the Secrets holding the user name, password or CA, if any."""
    smtp = config.smtp
    return secret_permissions([smtp.username, smtp.password, smtp.tls.ca], ctx)


def message(config: EmailConfig, data: Mapping[str, Any]) -> EmailMessage:
    """The mail for ``data``: the subject is one line (line breaks from values become spaces)."""
    msg = EmailMessage()
    msg["Subject"] = " ".join(config.subject.render(data).split())
    msg["From"] = config.sender
    msg["To"] = ", ".join(config.to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=config.sender.partition("@")[2])
    msg.set_content(config.body.render(data))
    return msg


def run(config: EmailConfig, event: Event, ctx: ActionContext) -> str:
    """Send the mail; the summary names the server and how many recipients took it."""
    smtp = config.smtp
    msg = message(config, event.template_data(ctx.trigger_name, ctx.trigger_namespace))
    try:
        refused = _send(config, msg, ctx)
    except ActionError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise _by_code(smtp, "every recipient was refused", _codes(exc.recipients)) from None
    except smtplib.SMTPResponseException as exc:
        ctx.log.debug("mail via %s: the server replied %s", smtp.where, _excerpt(exc.smtp_error))
        raise _by_code(smtp, _reply(exc.smtp_code, exc.smtp_error), [exc.smtp_code]) from None
    except smtplib.SMTPNotSupportedError:
        raise PermanentActionError(
            f"mail via {smtp.where} failed: the server does not support STARTTLS or AUTH"
        ) from None
    except ssl.SSLCertVerificationError:
        raise PermanentActionError(
            f"mail via {smtp.where} failed: the server's certificate is not trusted"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, TLS failure
        what = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else type(exc).__name__
        raise RetryableActionError(f"mail via {smtp.where} failed: {what}") from None
    sent = len(config.to) - len(refused)
    note = f" ({len(refused)} refused)" if refused else ""
    return f"mailed {sent} recipient{'s' if sent != 1 else ''} via {smtp.where}{note}"


def _send(config: EmailConfig, msg: EmailMessage, ctx: ActionContext) -> dict[str, Any]:
    smtp = config.smtp
    context = smtp.tls.ssl_context(ctx) if smtp.security != "none" else None
    user = smtp.username.resolve(ctx) if smtp.username else None
    password = smtp.password.resolve(ctx) if smtp.password else None
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if user is not None and password is not None:
            client.login(user, password)
        refused: dict[str, Any] = client.send_message(
            msg, from_addr=config.sender, to_addrs=list(config.to)
        )
    return refused


def _codes(recipients: Mapping[str, Any]) -> list[int]:
    return [int(reply[0]) for reply in recipients.values() if reply]


_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\b")


def _reply(code: int, text: bytes | str) -> str:
    """``535 5.7.8``: the reply code and enhanced status code, never the server's words."""
    enhanced = _ENHANCED.match(_text(text))
    return f"{code} {enhanced.group()}" if enhanced else str(code)


def _excerpt(text: bytes | str) -> str:
    return redact.scrub(" ".join(_text(text).split()))[:120]


def _text(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _by_code(smtp: SmtpConfig, what: str, codes: list[int]) -> ActionError:
    """4xx (temporary) replies are retryable; 5xx and anything else are permanent."""
    message = f"mail via {smtp.where} failed: {what}"
    if codes and all(400 <= c < 500 for c in codes):
        return RetryableActionError(message)
    return PermanentActionError(message)


KIND = ActionKind(key="email", parse=parse, permissions=permissions, run=run)
