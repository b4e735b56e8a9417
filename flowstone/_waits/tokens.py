"""Signed gate tokens: HMAC-SHA256 over the gate's identity and expiry.

A token is ``<body>.<signature>``, both base64url without padding; the body is JSON
``{"w": wait id, "g": generation, "e": expiry as epoch seconds or null}``. It is checked
with a constant-time compare against the current secret and each previous one (rotation).
There is no default secret: ``Secrets`` is built from ``fs.start(signal_secret=...)``,
``FLOWSTONE_SIGNAL_SECRET``, or a 32-byte secret generated once and kept by the wait
store (in the database, shared by every node on it; per node in memory).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

from flowstone.errors import SignalError

__all__ = ["Secrets", "TokenClaims", "as_secret", "sign", "verify"]


def as_secret(value: str | bytes) -> bytes:
    secret = value.encode() if isinstance(value, str) else bytes(value)
    if len(secret) < 16:
        raise ValueError("a signal secret must be at least 16 bytes long")
    return secret


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secret tokens are signed with, and the previous ones still accepted."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    def __repr__(self) -> str:
        return f"Secrets(current=***, previous={len(self.previous)} ***)"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    wait_id: str
    generation: int
    expires: float | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode(), hashlib.sha256).digest()


def sign(secrets: Secrets, claims: TokenClaims) -> str:
    raw = {"w": claims.wait_id, "g": claims.generation, "e": claims.expires}
    body = _b64(json.dumps(raw, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(_mac(secrets.current, body))}"


def verify(secrets: Secrets, token: object) -> TokenClaims:
    """The claims of a token signed with one of ``secrets``; ``SignalError`` otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 1024:
        raise SignalError("the token is not a FlowStone gate token", reason="malformed")
    body, signature = token.split(".")
    try:
        mac = _unb64(signature)
        raw = json.loads(_unb64(body))
    except (binascii.Error, ValueError) as exc:
        raise SignalError("the token is not a FlowStone gate token", reason="malformed") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("w"), str) or not isinstance(raw.get("g"), int):
        raise SignalError("the token is not a FlowStone gate token", reason="malformed")
    expires = raw.get("e")
    if expires is not None and not isinstance(expires, int | float):
        raise SignalError("the token is not a FlowStone gate token", reason="malformed")
    candidates: Sequence[bytes] = (secrets.current, *secrets.previous)
    # Every candidate is compared, whichever matches: the time taken says nothing.
    matched = False
    for secret in candidates:
        matched |= hmac.compare_digest(_mac(secret, body), mac)
    if not matched:
        raise SignalError(
            "the token's signature does not match this database's signal secret (forged, or "
            "signed with another secret: pass the old one in previous_signal_secrets)",
            reason="bad_signature",
        )
    return TokenClaims(raw["w"], raw["g"], None if expires is None else float(expires))
