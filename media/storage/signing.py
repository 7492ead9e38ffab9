"""Signed, expiring URLs for the stores that serve their own files (the local folder, memory): a private key's
URL carries `exp` (Unix seconds) and `sig`, an HMAC-SHA256 of the key and `exp` under the app's secret.
A hosted store (Supabase) signs with its own scheme instead."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl

from media.storage.base import check_key, is_public

_EXP = re.compile(r"[0-9]{1,12}")
_SIG = re.compile(r"[0-9a-fA-F]{64}")


def sign(key: str, exp: int, secret: bytes) -> str:
    return hmac.new(secret, f"{key}\n{exp}".encode(), hashlib.sha256).hexdigest()


def verify(key: str, exp: str | None, sig: str | None, secret: bytes, now: float) -> bool:
    """True only for an untampered signature that has not expired; anything malformed is simply False."""
    if exp is None or sig is None or not _EXP.fullmatch(exp) or not _SIG.fullmatch(sig):
        return False
    try:
        check_key(key)
    except ValueError:
        return False
    if int(exp) <= now:
        return False
    return hmac.compare_digest(sign(key, int(exp), secret), sig.lower())


def object_url(base: str, key: str, secret: bytes, expires_in: int) -> str:
    """`base/key`: plain for a key under "public/", else signed to expire in `expires_in` seconds.
    ValueError for an unsafe key or an expiry that is not in the future."""
    check_key(key)
    if expires_in <= 0:
        raise ValueError("expires_in must be positive")
    if is_public(key):
        return f"{base}/{key}"
    # Key characters are all URL-safe (check_key), so no quoting is needed.
    exp = int(time.time()) + expires_in
    return f"{base}/{key}?exp={exp}&sig={sign(key, exp, secret)}"


def key_of_url(url: str, base: str, secret: bytes, now: float) -> str | None:
    """The key an object_url URL opens at time `now`; None if it is not under `base`, names an unsafe key, or
    is a private key's URL whose signature is missing, tampered with or expired."""
    if not url.startswith(base + "/"):
        return None
    key, _, query = url[len(base) + 1 :].partition("?")
    try:
        check_key(key)
    except ValueError:
        return None
    if is_public(key):
        return key
    params = dict(parse_qsl(query))
    return key if verify(key, params.get("exp"), params.get("sig"), secret, now) else None
