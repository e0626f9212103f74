"""Real local receivers for notification actions: an HTTP(S) server and SMTP via aiosmtpd.

Webhook, chat and e-mail actions are tested by sending to these servers on
127.0.0.1 and asserting on what arrived, so the real urllib3 and smtplib code
runs end to end; nothing in the client is patched. Certificates are made here
with ``cryptography`` (self-signed, valid for 127.0.0.1 and localhost).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SelfSigned:
    """A self-signed certificate (its own CA) and key, as PEM, plus files for ssl."""

    cert_pem: str
    key_pem: str
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side SSL context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed(directory: Path, common_name: str = "receiver.test") -> SelfSigned:
    """Make a certificate for 127.0.0.1 and localhost that is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_file = directory / f"{common_name}.crt"
    key_file = directory / f"{common_name}.key"
    cert_file.write_text(cert_pem)
    key_file.write_text(key_pem)
    return SelfSigned(cert_pem, key_pem, cert_file, key_file)


# -- HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """What the receiver answers next (and after)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


class HttpReceiver:
    """A threaded HTTP(S) server on 127.0.0.1 that records every request.

    ``port`` 0 picks a free one; a given port lets a test bring a receiver up
    where an action has been failing to connect.
    """

    def __init__(self, tls: SelfSigned | None = None, port: int = 0) -> None:
        self.requests: list[Received] = []
        self.reply = Reply()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.requests.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
                reply = receiver.reply
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self.server.socket = tls.server_context().wrap_socket(
                self.server.socket, server_side=True
            )
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- SMTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One delivered message: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message
    login: str | None


class SmtpRecorder:
    """An aiosmtpd handler that records mail and can refuse recipients or data."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.refuse_rcpt: dict[str, str] = {}  # address -> reply
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        login = session.auth_data.login.decode() if session.auth_data else None
        self.mails.append(
            Mail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.content),
                login,
            )
        )
        return "250 Message accepted"


def smtp_server(
    recorder: SmtpRecorder,
    *,
    cert: SelfSigned | None = None,
    implicit_tls: bool = False,
    credentials: tuple[str, str] | None = None,
) -> Iterator[int]:
    """Run aiosmtpd on 127.0.0.1 (STARTTLS when ``cert``; SMTPS if ``implicit_tls``); yield port."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            credentials is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    kwargs: dict[str, Any] = {}
    if cert is not None and not implicit_tls:
        kwargs |= {"tls_context": cert.server_context(), "require_starttls": True}
    if implicit_tls and cert is not None:
        kwargs["ssl_context"] = cert.server_context()
    if credentials is not None:
        kwargs |= {"auth_required": True, "authenticator": authenticate}
        if implicit_tls:
            kwargs["auth_require_tls"] = False  # the session is TLS from the first byte
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def temp_dir() -> Path:
    """A fresh temporary directory for certificates."""
    return Path(tempfile.mkdtemp(prefix="kt-receivers-"))
