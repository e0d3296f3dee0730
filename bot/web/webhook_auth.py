"""Does a webhook caller know the shared secret? A signature header, a secret header, or a `secret` field.

Every comparison is constant-time. The reasons returned name what was wrong, never the secret or the
value the caller sent, so they can be logged and answered.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Tradecord-Signature"
SECRET_HEADER = "X-Tradecord-Secret"
SECRET_FIELD = "secret"

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST_RE = re.compile(r"[0-9a-fA-F]{64}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Tradecord-Signature` value for `body` sent at `timestamp` (Unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, str(timestamp), body)}"


def _digest(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    # surrogatepass: a JSON string may hold lone surrogates, which plain UTF-8 cannot encode.
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def check_signature(header: str, secret: str, body: bytes, *, now: float, max_skew_seconds: float) -> str | None:
    """None when `header` is a fresh, matching signature of `body`; else why not."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return f"{SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex HMAC-SHA256>"
        fields.setdefault(name.strip(), []).append(value.strip())
    timestamps, digests = fields.get("t", []), fields.get("v1", [])
    if len(timestamps) != 1 or not _TIMESTAMP_RE.fullmatch(timestamps[0]):
        return f"{SIGNATURE_HEADER} needs one t=<unix seconds>"
    if not digests or not all(_HEX_DIGEST_RE.fullmatch(digest) for digest in digests):
        return f"{SIGNATURE_HEADER} needs v1=<64 hex digits of HMAC-SHA256>"
    if abs(now - int(timestamps[0])) > max_skew_seconds:
        return f"the signature timestamp is more than {max_skew_seconds:g} seconds from the server's clock"
    expected = _digest(secret, timestamps[0], body)
    # Several v1 values let a sender sign with an old and a new secret while rotating.
    if not any(_same(digest.lower(), expected) for digest in digests):
        return "the signature does not match the body"
    return None


def authenticate(
    headers: Mapping[str, str],
    body: bytes,
    field_secret: object,
    secret: str,
    *,
    now: float,
    max_skew_seconds: float,
) -> str | None:
    """None when the caller proved it knows `secret`; else the reason it did not.

    The strongest credential presented decides: a signature header, else a secret header, else the JSON
    `secret` field (`field_secret`, None when the body has none). A wrong strong credential is not rescued by
    a right weaker one.
    """
    signature = headers.get(SIGNATURE_HEADER)
    if signature is not None:
        return check_signature(signature, secret, body, now=now, max_skew_seconds=max_skew_seconds)
    given = headers.get(SECRET_HEADER)
    if given is None and field_secret is not None:
        if not isinstance(field_secret, str):
            return f"the {SECRET_FIELD!r} field must be a string"
        given = field_secret
    if given is None:
        return (
            f"no credentials: send the secret in the JSON field {SECRET_FIELD!r} or the {SECRET_HEADER} header, "
            f"or sign the body with {SIGNATURE_HEADER}"
        )
    return None if _same(given, secret) else "wrong secret"
