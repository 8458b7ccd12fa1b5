"""Customer identity: a mainland mobile number, normalized."""

from __future__ import annotations

import hashlib
import hmac
import re

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[ \-]")


def normalize_phone(raw: str) -> str | None:
    """The 11-digit number, or None when ``raw`` is not a mainland mobile.

    Accepts ``+86``/``86`` prefixes, spaces and dashes; only ASCII digits
    (full-width or other scripts' digits are refused, not folded).
    """
    compact = without_country_code(raw)
    return compact if _MOBILE.fullmatch(compact) else None


def without_country_code(raw: str) -> str:
    """``raw`` without spaces, dashes and a ``+86``/``86`` prefix (a full
    number's or a mask's: both are 11 characters once it is gone)."""
    compact = _SEPARATORS.sub("", raw)
    if compact.startswith("+86"):
        return compact[3:]
    if compact.startswith("86") and len(compact) == 13:
        return compact[2:]
    return compact


def mask_phone(phone: str) -> str:
    """``138****5678``: the most of a number that may be shown or logged."""
    return f"{phone[:3]}****{phone[-4:]}"


def customer_key(phone: str, secret: bytes) -> str:
    """The customer's key: a keyed HMAC of the normalized phone.

    Never the phone itself and never a plain hash (11-digit numbers are few
    enough to hash them all); without the secret the key says nothing.
    """
    return hmac.new(secret, phone.encode(), hashlib.sha256).hexdigest()
