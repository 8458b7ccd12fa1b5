"""dynalite for the race tests: an independent DynamoDB whose conditional
writes are atomic, so "exactly one winner" can be proved (moto's cannot:
see ../shared/STACK_NOTES.md beside the repository).

One dynalite process serves the whole session; each test gets its own table
prefix, so no test sees another's data. The environment the top-level
conftest set (no ``DYNAMODB_ENDPOINT``: moto) is restored after every test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.services.container import reset
from chalicelib.store import Store, create_tables, store

ROOT = Path(__file__).resolve().parents[1]
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0

# What the function fixture changes; each is put back as it was.
_ENV_KEYS = ("DYNAMODB_ENDPOINT", "TABLE_PREFIX", "RATE_PER_SECOND", "RATE_BURST")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, log: object) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"dynalite exited with code {proc.returncode} before listening on "
                f"127.0.0.1:{port}:\n{_read(log)}",
                pytrace=False,
            )
        if _answers(port):
            return
        time.sleep(0.05)
    pytest.fail(
        f"dynalite did not listen on 127.0.0.1:{port} within {START_TIMEOUT_SECONDS:.0f} s:\n"
        f"{_read(log)}",
        pytrace=False,
    )


def _read(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    return log.read().decode(errors="replace")  # type: ignore[attr-defined]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a dynalite started for this session (in memory)."""
    if not DYNALITE.exists():
        pytest.fail(
            f"{DYNALITE.relative_to(ROOT)} is missing: run `npm install` in {ROOT} "
            "(it installs dynalite, which the race and store tests need).",
            pytrace=False,
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "`node` is not on PATH: the race tests run dynalite with Node.js.", pytrace=False
        )
    port = _free_port()
    flags = f"--host 127.0.0.1 --port {port} --createTableMs 0 --deleteTableMs 0 --updateTableMs 0"
    command = [node, str(DYNALITE), *flags.split()]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(proc, port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


@pytest.fixture
def dynalite(dynalite_endpoint: str) -> Iterator[Store]:
    """The app's tables on dynalite, under a prefix of this test alone."""
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    os.environ.update(
        {
            "DYNAMODB_ENDPOINT": dynalite_endpoint,
            "TABLE_PREFIX": f"race-{uuid.uuid4().hex[:12]}",
            # the clock stands still in these tests, so the token bucket never
            # refills: give it room for every call (rate limiting is not under test)
            "RATE_PER_SECOND": "1000",
            "RATE_BURST": "1000000",
        }
    )
    reset()
    try:
        create_tables(ttl_supported=False)
        yield store()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset()


@pytest.fixture
def tight_switching() -> Iterator[None]:
    """Switch threads every 0.1 ms instead of 5 ms: more interleavings of the
    Python code between the read and the conditional write."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
