"""The privacy scan of tests/conftest.py finds what it must, and only that."""

from __future__ import annotations

import logging

import pytest

from chalicelib.observability import logger
from tests.privacy import every_log_line, leaks


@pytest.mark.parametrize(
    "text",
    [
        '{"phone": "13812345678"}',
        "customer +86 138-1234-5678 arrived",
        "id 37010219800101001X",
        "secret whsec_Z83VPmz-nVB7Q-5q0fYcruW2BLiQx",
        "Bearer tok_01M8V9TEJW3RH9YX12J09K3D0Q.IB8IZqxo-fgsP-hiEW-cSpyirLLPwWnliQeNM1939MY",
    ],
)
def test_the_scan_finds_what_must_never_be_logged(text):
    assert leaks(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"phone": "138****5678"}',
        "position 1796213174662#au_01M8",  # 13 digits: a timestamp
        "key a13812345678b0c9",  # part of a hex digest
        "tok_01M8V9TEJW3RH9YX12J09K3D0Q",  # a token id alone is not the token
        "id card ending 0011",
    ],
)
def test_the_scan_passes_masked_and_harmless_text(text):
    assert leaks(text) == []


@pytest.mark.leaks_on_purpose
def test_the_app_logger_masks_a_phone_but_a_token_would_be_caught():
    with every_log_line(logger._logger, logger.registered_handler.formatter) as lines:
        logger.info("walk-in 13812345678")
        logger.info("oops", extra={"token": "tok_abc.IB8IZqxo-fgsP-hiEW-cSpyir"})
        logging.getLogger("botocore").warning("body had 13900001111")
    found = [leak for line in lines for leak in leaks(line)]
    assert [f.split(":")[0] for f in found] == ["staff token", "mobile number"]
