"""Which endpoints may be called (SSRF, decision 0010): a deployed stage
calls https:// hosts whose every address is global; the local and test
stages also call http:// and loopback."""

from __future__ import annotations

import pytest

from chalicelib.services.delivery.addresses import NotAllowed, allowed, check


def resolving(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",  # IPv4 hidden in IPv6
        "::ffff:127.0.0.1",
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "198.18.0.1",  # benchmarking
    ],
)
def test_a_non_global_address_is_refused_in_a_deployed_stage(address):
    assert not allowed(address, loopback_allowed=False)
    with pytest.raises(NotAllowed):
        check("https://hooks.example.com/x", loopback_allowed=False, resolver=resolving(address))


def test_a_host_with_one_private_address_among_public_ones_is_refused():
    with pytest.raises(NotAllowed, match="private"):
        check(
            "https://hooks.example.com/x",
            loopback_allowed=False,
            resolver=resolving("203.0.113.9", "8.8.8.8", "10.1.2.3"),
        )


def test_a_global_https_endpoint_is_allowed_and_the_checked_address_kept():
    target = check(
        "https://hooks.example.com:8443/in?a=1",
        loopback_allowed=False,
        resolver=resolving("8.8.4.4", "2001:4860:4860::8888"),
    )
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        8443,
        "/in?a=1",
    )
    assert target.address == "8.8.4.4"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https in a deployed stage
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "https:///x",
        "hooks.example.com/x",
        "https://hooks.example.com/" + "x" * 2048,
        "https://hooks.example.com:99999/x",
        "https://例子.com/x",
    ],
)
def test_a_url_that_is_not_an_absolute_https_url_is_refused(url):
    with pytest.raises(NotAllowed):
        check(url, loopback_allowed=False, resolver=resolving("8.8.8.8"))


def test_the_local_stage_allows_http_and_loopback_and_nothing_else_private():
    target = check(
        "http://127.0.0.1:8080/hook", loopback_allowed=True, resolver=resolving("127.0.0.1")
    )
    assert (target.address, target.port) == ("127.0.0.1", 8080)
    assert allowed("::1", loopback_allowed=True)
    for private in ("10.0.0.1", "169.254.169.254", "192.168.0.1"):
        assert not allowed(private, loopback_allowed=True)


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(NotAllowed, match="resolve"):
        check("https://nowhere.invalid/x", loopback_allowed=False)
    with pytest.raises(NotAllowed, match="resolve"):
        check("https://hooks.example.com/x", loopback_allowed=False, resolver=resolving())
