"""Customer identity: the normalized mainland mobile number."""

import pytest

from chalicelib.rules.phone import customer_key, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "86 138-1234-5678",
        "8613812345678",
    ],
)
def test_accepted_formats_normalize_to_eleven_digits(raw):
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "12812345678",  # second digit must be 3-9
        "1381234567",  # ten digits
        "138123456789",  # twelve digits
        "+85213812345678",  # not mainland
        "１３８１２３４５６７８",  # full-width digits are not folded
        "138١٢٣٤٥٦٧٨",  # Arabic-Indic digits
        "138.1234.5678",
        "(138)12345678",
        "",
        "phone",
        "010-12345678",  # a landline
        "+86+8613812345678",
    ],
)
def test_anything_else_is_not_a_mainland_mobile(raw):
    assert normalize_phone(raw) is None


def test_masked_phone_shows_only_first_three_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_customer_key_is_keyed_and_never_the_phone():
    key = customer_key("13812345678", b"secret-one-0123456")
    assert "13812345678" not in key
    assert key == customer_key("13812345678", b"secret-one-0123456")
    assert key != customer_key("13812345678", b"secret-two-0123456")
    assert key != customer_key("13812345679", b"secret-one-0123456")
