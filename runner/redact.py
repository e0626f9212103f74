"""The registry of secret values the runner resolved, and the scrubbing every outgoing text gets.

Receivers echo what they were sent: a 401 body quoting ``Bearer <token>``, a
404 page quoting the URL path that holds a webhook token. So instead of
trusting each call site to leave secrets out, every value read from a Secret
is registered here (``runner.secrets.SecretReader`` does it as it resolves
one) and each place text leaves the runner scrubs it: the log formatters
(every level), the Event recorder, the status writer and the metrics labels.

What is registered for a value (each piece also in the encodings receivers
use when echoing: percent-encoded, JSON-escaped, HTML-escaped, base64):

- the value itself, and the credential after an auth scheme word
  (``Bearer abc`` -> ``abc``; a Basic credential also decoded: ``user:pass``
  and ``pass``);
- for an http(s) URL: its user info (whole, and the password), path, query
  and fragment, and each path segment or query value that looks like a token
  (see ``_token_like``), because a receiver may echo only the last segment.
  A user name on its own is registered only when it looks like a token too:
  ``admin`` or ``robot`` scrubbed from every text would garble messages.

Short values: a piece of fewer than ``MIN_LENGTH`` characters is not
registered. Scrubbing "ab" from every text would turn messages into nonsense
and a two-letter secret protects nothing; ``register`` returns False so the
caller can warn. Matching ignores case (percent-encodings and hex differ in
case between receivers).
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

#: pieces shorter than this are not scrubbed (they would match ordinary words)
MIN_LENGTH = 4
#: what a scrubbed secret is replaced with
MASK = "[redacted]"
#: a URL path segment or query value this long is a token whatever it looks like
_TOKEN_LENGTH = 16
_SCHEME_CREDENTIAL = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)\s+(\S+)")


class Redactor:
    """A set of secret strings and one compiled pattern that finds any of them."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._seen: set[str] = set()
        #: the pieces lower-cased, matched against lower-cased text (fast: no IGNORECASE)
        self._pattern: re.Pattern[str] | None = None
        #: the same with IGNORECASE, for the rare text whose length changes when lower-cased
        self._fallback: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, value: str) -> bool:
        """Remember ``value`` (and its derived pieces); False when it is too short to scrub."""
        scrubbable = len(value.strip()) >= MIN_LENGTH
        if value in self._seen:  # the same Secret is read again for every event
            return scrubbable
        pieces = {p.lower() for p in secret_pieces(value)}
        with self._lock:
            self._seen.add(value)
            if pieces and not pieces <= self._secrets:
                self._secrets |= pieces
                longest_first = sorted(self._secrets, key=len, reverse=True)
                alternatives = "|".join(re.escape(s) for s in longest_first)
                self._fallback = re.compile(alternatives, re.IGNORECASE)
                self._pattern = re.compile(alternatives)
        return bool(pieces) and scrubbable

    def scrub(self, text: str) -> str:
        """``text`` with every registered secret replaced by ``MASK``."""
        pattern, fallback = self._pattern, self._fallback
        if pattern is None or fallback is None or not text:
            return text
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lower-case to two
            return fallback.sub(MASK, text)
        out: list[str] = []
        end = 0
        for match in pattern.finditer(lowered):
            out += (text[end : match.start()], MASK)
            end = match.end()
        if not out:
            return text
        out.append(text[end:])
        return "".join(out)

    def scrub_data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` with every string (keys included) scrubbed."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {self.scrub(str(k)): self.scrub_data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_data(v) for v in value]
        return value

    def clear(self) -> None:
        """Forget every secret (tests)."""
        with self._lock:
            self._secrets.clear()
            self._seen.clear()
            self._pattern = self._fallback = None


def secret_pieces(value: str) -> set[str]:
    """Everything a receiver might echo of ``value``, each in every encoding.

    Pieces shorter than ``MIN_LENGTH`` (not counting surrounding white space) are left out.
    """
    raw: set[str] = {value, value.strip()}
    stripped = value.strip()
    match = _SCHEME_CREDENTIAL.fullmatch(stripped)
    if match:
        raw |= _credential(match.group(1), match.group(2))
    raw |= _url_pieces(stripped)
    out: set[str] = set()
    for piece in raw:
        if len(piece.strip()) >= MIN_LENGTH:
            out |= _encodings(piece)
    return out


def _credential(scheme: str, credential: str) -> set[str]:
    pieces = {credential}
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return pieces
        user, _, password = decoded.partition(":")
        pieces |= {decoded, password} | ({user} if _token_like(user) else set())
    return pieces


def _url_pieces(text: str) -> set[str]:
    if not text.lower().startswith(("http://", "https://")):
        return set()
    try:
        parts = urlsplit(text)
        password = parts.password
        username = parts.username
    except ValueError:
        return set()
    pieces: set[str] = set()
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    user = unquote(username or "")
    for item in (userinfo, password, username if _token_like(user) else None):
        if item:
            pieces |= {item, unquote(item)}
    if parts.path not in ("", "/"):
        pieces.add(parts.path)
        pieces |= {s for s in parts.path.split("/") if _token_like(unquote(s))}
    for part in (parts.query, parts.fragment):
        if part:
            pieces.add(part)
            values = (pair.partition("=")[2] or pair for pair in part.split("&"))
            pieces |= {v for v in values if _token_like(unquote(v))}
    return pieces | {unquote(p) for p in pieces}


def _token_like(segment: str) -> bool:
    """Whether a URL path segment or query value looks like a credential rather than a word.

    Long segments always do; from 8 characters on, one with a digit, or with an
    upper-case letter after the first character, does. ``services``, ``api``,
    ``webhooks`` or ``Workflows`` do not, so they are not scrubbed from every text.
    """
    if len(segment) >= _TOKEN_LENGTH:
        return True
    if len(segment) < 8:
        return False
    return any(c.isdigit() for c in segment) or any(c.isupper() for c in segment[1:])


def _encodings(piece: str) -> set[str]:
    forms = {
        piece,
        quote(piece, safe=""),
        quote(piece),
        quote_plus(piece),
        json.dumps(piece)[1:-1],
        json.dumps(piece, ensure_ascii=False)[1:-1],
        json.dumps(piece)[1:-1].replace("/", "\\/"),  # encoders that escape the solidus
        html.escape(piece),
    }
    encoded = piece.encode()
    forms.add(base64.b64encode(encoded).decode())
    forms.add(base64.urlsafe_b64encode(encoded).decode().rstrip("="))
    return forms


#: the runner's one registry (a process serves one Trigger)
REGISTRY = Redactor()


def register(value: str) -> bool:
    """Register a resolved secret value in the process registry."""
    return REGISTRY.register(value)


def scrub(text: str) -> str:
    """``text`` with every registered secret masked."""
    return REGISTRY.scrub(text)


def scrub_data(value: Any) -> Any:
    """JSON-like ``value`` with every registered secret masked in its strings."""
    return REGISTRY.scrub_data(value)
