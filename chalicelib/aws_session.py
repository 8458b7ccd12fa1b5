"""One botocore session per thread, shared by every AWS client the app makes.

A botocore session loads and caches the endpoint rules, partitions and retry
data each client needs. PynamoDB builds a session of its own per thread, and
a second session for SSM or KMS loads all of it again: ~150 ms of a cold
start, against ~17 ms for a client made in the session already loaded. So
the store's connection (store/tables.py), the phone key's SSM client
(settings.py) and the KMS client (store/sealing.py) all take this one.
Per thread, as PynamoDB does: botocore's client creation is not thread-safe.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import botocore.session

_local = threading.local()


def session() -> botocore.session.Session:
    found: botocore.session.Session | None = getattr(_local, "session", None)
    if found is None:
        import botocore.session  # noqa: PLC0415 (PynamoDB imports it anyway, when used)

        found = _local.session = botocore.session.get_session()
    return found


def forget() -> None:
    """This thread's next client gets a new session (tests change credentials
    and endpoints between cases)."""
    _local.session = None
