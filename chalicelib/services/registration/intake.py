"""The registration request body: shape checks, then phone normalization."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from chalicelib.errors import Failed, FieldError, Problem, validation_error
from chalicelib.rules.masked import normalize_mask
from chalicelib.rules.phone import mask_phone, normalize_phone

MAX_BODY_BYTES = 16 * 1024

# Text a person typed, without what only hides or disguises text: control
# characters (NUL, escapes), invisible separators (zero-width space, word
# joiner, BOM) and bidirectional overrides, which make one name look like
# another on a screen or in Excel. A zero-width joiner stays (emoji).
_HIDDEN = "\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069"
_Text = rf"^[^\x00-\x1f\x7f{_HIDDEN}]*$"
# a note may run over lines
_Lines = rf"^[^\x00-\x08\x0b-\x1f\x7f{_HIDDEN}]*$"
_TEXTS = (_Text, _Lines)
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_Text)]
Note = Annotated[str, StringConstraints(max_length=500, pattern=_Lines)]
PhoneText = Annotated[str, StringConstraints(min_length=1, max_length=32)]
# an id we issued (reg_…, stf_…, vi_…): letters, digits, _ and -
_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"
_MAX_ID = 64
Id = Annotated[str, StringConstraints(min_length=1, max_length=_MAX_ID, pattern=_ID_PATTERN)]


def is_id(text: str) -> bool:
    """``text`` has the shape of an ``Id`` (for ids outside a body: a query)."""
    return len(text) <= _MAX_ID and re.fullmatch(_ID_PATTERN, text) is not None


Reason = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_Text)]

_ISO_WITH_OFFSET = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _iso_with_offset(value: object) -> datetime:
    """ISO 8601 with a ``T`` and an offset, nothing looser (no epoch numbers)."""
    if not isinstance(value, str) or not _ISO_WITH_OFFSET.fullmatch(value):
        raise ValueError("expected ISO 8601 with an offset, e.g. 2026-11-27T10:30:00+08:00")
    return datetime.fromisoformat(value)


VisitAt = Annotated[datetime, BeforeValidator(_iso_with_offset)]


class _Customer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    name: Name
    phone: PhoneText


class _MaybeMaskedCustomer(BaseModel):
    """A registrant names the customer by full number, or by mask (隐号报备,
    decision 0013): exactly one of ``phone`` and ``phone_masked``."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    name: Name
    phone: PhoneText | None = None
    phone_masked: PhoneText | None = None


class _Registration(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    customer: _MaybeMaskedCustomer
    visit_at: VisitAt | None = None
    note: Note | None = None


class _BrokerShown(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    broker_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    id_card: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class _StaffRegistration(BaseModel):
    """A consultant's registration: a walk-in, or a broker's customer."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    customer: _Customer
    visit_at: VisitAt
    note: Note | None = None
    broker: _BrokerShown | None = None


_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class BrokerShown:
    broker_id: str
    id_card: str  # as shown; normalized by the broker rules


@dataclass(frozen=True)
class RegistrationBody:
    name: str
    phone: str | None  # normalized; None for a masked registration
    visit_at: datetime | None
    note: str | None
    request_hash: str  # of the parsed body: same request, same hash
    broker: BrokerShown | None = None
    mask: str | None = None  # ``138****5678``: given instead of the phone

    @property
    def phone_masked(self) -> str:
        if self.phone is None:
            assert self.mask is not None
            return self.mask
        return mask_phone(self.phone)


def parse_registration(raw: bytes) -> RegistrationBody:
    """The validated body, or Failed(VALIDATION_ERROR | INVALID_PHONE)."""
    return _body(validated(_Registration, raw))


def parse_staff_registration(raw: bytes) -> RegistrationBody:
    """A consultant's walk-in or broker registration; visit_at is required."""
    parsed = validated(_StaffRegistration, raw)
    body = _body(parsed)
    if parsed.broker is None:
        return body
    shown = BrokerShown(parsed.broker.broker_id, parsed.broker.id_card)
    return RegistrationBody(
        body.name, body.phone, body.visit_at, body.note, body.request_hash, shown
    )


def validated(model: type[_M], raw: bytes) -> _M:
    """The body as ``model``, or Failed(VALIDATION_ERROR) listing each bad field."""
    _refuse_repeated_keys(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise Failed(validation_error(*_field_errors(exc))) from exc


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Repeated(key)
        seen.add(key)
    return dict(pairs)


def _refuse_repeated_keys(raw: bytes) -> None:
    """A key given twice is ambiguous: a proxy may read the first value and
    we the last. Refused, like any other malformed body (malformed JSON
    itself is left to the model, which names the problem)."""
    try:
        json.loads(raw, object_pairs_hook=_unique)
    except _Repeated as repeated:
        raise Failed(validation_error(FieldError(repeated.key, "given more than once"))) from None
    except (ValueError, RecursionError):
        return


def mobile(raw: str, field: str) -> str:
    """The normalized mainland mobile number, or Failed(INVALID_PHONE)."""
    phone = normalize_phone(raw)
    if phone is None:
        raise Failed(
            Problem(
                "INVALID_PHONE",
                f"{field} is not a mainland China mobile number.",
                fields=(FieldError(field, "expected 1[3-9] and 9 more digits"),),
            )
        )
    return phone


def _body(parsed: _Registration | _StaffRegistration) -> RegistrationBody:
    phone, mask = _phone_or_mask(parsed.customer)
    dumped = parsed.model_dump(mode="json")
    if dumped["customer"].get("phone_masked", "") is None:
        del dumped["customer"]["phone_masked"]  # a full-number body hashes as it always did
    if dumped["customer"].get("phone", "") is None:
        del dumped["customer"]["phone"]
    canonical = json.dumps(dumped, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return RegistrationBody(
        name=parsed.customer.name,
        phone=phone,
        visit_at=parsed.visit_at,
        note=parsed.note,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        mask=mask,
    )


def _phone_or_mask(customer: _Customer | _MaybeMaskedCustomer) -> tuple[str | None, str | None]:
    """(the normalized phone, None) or (None, the normalized mask)."""
    masked = customer.phone_masked if isinstance(customer, _MaybeMaskedCustomer) else None
    if (customer.phone is None) == (masked is None):
        raise Failed(
            validation_error(
                FieldError("customer.phone", "give the phone or phone_masked, not both"),
            )
        )
    if customer.phone is not None:
        return mobile(customer.phone, "customer.phone"), None
    assert masked is not None
    mask = normalize_mask(masked)
    if mask is None:
        raise Failed(
            Problem(
                "INVALID_PHONE",
                "customer.phone_masked is not a mainland China mobile's mask.",
                fields=(
                    FieldError("customer.phone_masked", "first 3 and last 4 digits: 138****5678"),
                ),
            )
        )
    return None, mask


def peek_phone(raw: bytes) -> str | None:
    """The normalized phone if the body plausibly has one; used only to fetch
    the customer in the same round trip as the caller's credentials, before
    the caller is authenticated (nothing is answered from it)."""
    try:
        doc: Any = json.loads(raw)
        phone = doc["customer"]["phone"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return normalize_phone(phone) if isinstance(phone, str) and len(phone) <= 32 else None


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] in _TEXTS:
            message = "control, invisible or text-direction characters are not allowed"
        errors.append(FieldError(where, message))
    return errors
