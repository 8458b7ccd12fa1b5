"""One signed POST to a checked address (urllib3, shipped with botocore):
no redirect followed, no retry here (the schedule retries), bounded time."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

import urllib3

from .addresses import Target

CONNECT_SECONDS = 3.0
READ_SECONDS = 10.0
USER_AGENT = "sales-office-deliveries/1"


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no HTTP answer
    error: str | None  # why it failed without one: timeout, refused, tls
    latency_ms: int


class Sender:
    def __init__(self, connect: float = CONNECT_SECONDS, read: float = READ_SECONDS) -> None:
        self._timeout = urllib3.Timeout(connect=connect, read=read)

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> Answer:
        """POST ``body`` to ``target.address`` (the address checked), naming
        ``target.host`` in the Host header and in TLS (SNI, certificate)."""
        default = 443 if target.scheme == "https" else 80
        host = target.host if target.port == default else f"{target.host}:{target.port}"
        all_headers = {
            **headers,
            "Host": host,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        began = time.perf_counter()
        pool = self._pool(target)
        try:
            reply = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=all_headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
            reply.drain_conn()
            reply.release_conn()
            return Answer(reply.status, None, _ms(began))
        except urllib3.exceptions.NewConnectionError:  # a ConnectTimeoutError too
            return Answer(None, "connection", _ms(began))
        except urllib3.exceptions.TimeoutError:
            return Answer(None, "timeout", _ms(began))
        except urllib3.exceptions.SSLError:
            return Answer(None, "tls", _ms(began))
        except urllib3.exceptions.HTTPError:
            return Answer(None, "connection", _ms(began))
        finally:
            pool.close()

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        if target.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                target.address,
                target.port,
                timeout=self._timeout,
                maxsize=1,
                retries=False,
                server_hostname=target.host,
                assert_hostname=target.host,
                ssl_context=ssl.create_default_context(),
            )
        return urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=self._timeout, maxsize=1, retries=False
        )


def _ms(began: float) -> int:
    return int((time.perf_counter() - began) * 1000)
