"""Warm accepted registration against a bare Chalice route making the same
DynamoDB calls: what the app adds around its calls (``warm_ratio``).

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/warm.py``).
``WARM_ITERATIONS`` (400) sets the number of timed pairs, ``WARM_PROFILED``
(200) the requests profiled for the breakdown. See docs/benchmarks.md.

One process, moto in-process (``mock_aws``). Each iteration:

1. the app's handler (``app.app(event, context)``, as Lambda calls it) gets a
   signed ``POST /v1/registrations`` of a new phone from a registrant the
   instance has already seen: an accepted registration. A botocore
   ``provide-client-params`` hook keeps the operation and parameters of every
   DynamoDB call it makes;
2. the bare route (benchmarks/bare_route.py, its own Chalice app) makes those
   calls, with the same parameters and items, through a plain boto3 client,
   on copies of the app's tables (same keys, indexes and stream) in the same
   moto backend, so every condition holds as it did for the app.

Both are timed around the handler call; the ratio is the median app time over
the median bare time. Every DynamoDB call is also timed (from
``provide-client-params`` to ``after-call``, hooks on both sides alike), which
splits each request into its calls and the rest. Then cProfile over a batch of
each gives where the rest goes. The last line printed is one JSON object.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())

# The deployed environment (.chalice/config.json, every stage) with metrics on
# and log lines at INFO as deployed (both written to /dev/null here); the key
# given directly (the SSM read is a cold-start cost: coldstart.py); tracing
# off (see docs/benchmarks.md); a rate limit too high to refuse the benchmark.
ENV = {
    **CONFIG["environment_variables"],
    "AWS_DEFAULT_REGION": "cn-north-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "STAGE": "bench",
    "TABLE_PREFIX": "sales-office-bench",
    "PHONE_HMAC_KEY": "bench-phone-hmac-key-0123456789",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "RATE_PER_SECOND": "100000",
    "RATE_BURST": "100000",
}
UNSET = (
    "DYNAMODB_ENDPOINT",
    "AWS_REGION",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "POWERTOOLS_METRICS_DISABLED",
)
BARE_PREFIX = "bare-"

os.environ.update(ENV)
for _name in UNSET:
    os.environ.pop(_name, None)
sys.path.insert(0, str(ROOT))

import botocore.session  # noqa: E402
from bare_route import (  # noqa: E402
    LambdaContext,
    api_event,
    copy_table_request,
    retarget,
    write_bare_app,
)
from moto import mock_aws  # noqa: E402
from profiling import own_time_by_function, package_of, self_time_by_package  # noqa: E402


@dataclass
class Calls:
    """Every DynamoDB call of every botocore client of this process: its
    operation and parameters, and the seconds it took."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    _started: float = 0.0
    _in_call: bool = False
    _paused: float = 0.0  # seconds spent inside calls, ever

    def install(self) -> None:
        original = botocore.session.Session.create_client
        calls = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                client.meta.events.register("provide-client-params.dynamodb", calls._begin)
                client.meta.events.register("after-call.dynamodb", calls._end)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def _begin(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.made.append((model.name, params))
        self._started = time.perf_counter()
        self._in_call = True

    def _end(self, **_: Any) -> None:
        elapsed = time.perf_counter() - self._started
        self.seconds.append(elapsed)
        self._paused += elapsed
        self._in_call = False

    def clock(self) -> float:
        """A clock that stands still inside DynamoDB calls: profiled with it,
        a function's time is its time outside them."""
        return (self._started if self._in_call else time.perf_counter()) - self._paused

    def take(self) -> tuple[list[tuple[str, dict[str, Any]]], float]:
        made, seconds = self.made, sum(self.seconds)
        self.made, self.seconds = [], []
        return made, seconds


CALLS = Calls()
CALLS.install()  # before the app (or anything) creates a client

DEVNULL = open(os.devnull, "w")  # noqa: SIM115 (the log handler keeps it)
with redirect_stdout(DEVNULL):  # Powertools' Logger writes to the stdout it finds at import
    from app import app

from chalicelib.rules.claims import Source  # noqa: E402
from chalicelib.rules.records import Registrant  # noqa: E402
from chalicelib.services.container import reset  # noqa: E402
from chalicelib.signing import signature_header  # noqa: E402
from chalicelib.store import create_tables, store  # noqa: E402
from chalicelib.store.tables import TABLES  # noqa: E402

ITERATIONS = int(os.environ.get("WARM_ITERATIONS", "400"))
PROFILED = int(os.environ.get("WARM_PROFILED", "200"))
WARM_UP = 20


@dataclass
class Sample:
    app_ms: float
    bare_ms: float
    app_calls_ms: float
    bare_calls_ms: float
    operations: tuple[str, ...]


class Bench:
    def __init__(self, bare_app: Any) -> None:
        self.bare_app = bare_app
        self.names: dict[str, str] = {}
        self.registrant = Registrant(
            "reg_channel_warm", Source.CHANNEL, "warm channel", secrets.token_hex(16), enabled=True
        )
        self.phones = (f"138{n:08d}" for n in range(10**8))

    def set_up(self) -> None:
        reset()
        create_tables()
        client = store()._connection.client
        for model in TABLES:
            name = model.Meta.table_name
            described = client.describe_table(TableName=name)["Table"]
            self.names[name] = BARE_PREFIX + name
            client.create_table(**copy_table_request(described, BARE_PREFIX + name))
        store().put_registrant(self.registrant, datetime.now(UTC))

    def event(self) -> dict[str, Any]:
        visit = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0).isoformat()
        doc = {"customer": {"name": "王先生", "phone": next(self.phones)}, "visit_at": visit}
        raw = json.dumps(doc, ensure_ascii=False).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "x-registrant-id": self.registrant.registrant_id,
            "x-signature": signature_header(self.registrant.secret, timestamp, raw),
            "idempotency-key": f"warm-{secrets.token_hex(8)}",
        }
        return api_event("/v1/registrations", headers, raw)

    def app_request(self) -> tuple[float, list[tuple[str, dict[str, Any]]], float]:
        event, context = self.event(), _context()
        CALLS.take()
        began = time.perf_counter()
        response = app(event, context)
        elapsed = time.perf_counter() - began
        if response["statusCode"] != 201:
            raise SystemExit(f"the app answered {response['statusCode']}: {response['body']}")
        made, seconds = CALLS.take()
        return elapsed, made, seconds

    def bare_request(self, made: list[tuple[str, dict[str, Any]]]) -> tuple[float, float]:
        self.bare_app.CALLS = [(op, retarget(params, self.names)) for op, params in made]
        event, context = self.event(), _context()
        CALLS.take()
        began = time.perf_counter()
        response = self.bare_app.app(event, context)
        elapsed = time.perf_counter() - began
        if response["statusCode"] != 201:
            raise SystemExit(f"the bare route answered {response['statusCode']}")
        replayed, seconds = CALLS.take()
        if [op for op, _ in replayed] != [op for op, _ in made]:
            raise SystemExit("the bare route did not make the app's calls")
        return elapsed, seconds

    def pair(self) -> Sample:
        app_s, made, app_calls = self.app_request()
        bare_s, bare_calls = self.bare_request(made)
        ops = tuple(op for op, _ in made)
        return Sample(app_s * 1e3, bare_s * 1e3, app_calls * 1e3, bare_calls * 1e3, ops)

    def profile(self, requests: int) -> tuple[pstats.Stats, pstats.Stats]:
        """cProfile over ``requests`` app requests, and over the bare route
        replaying the same calls, on a clock that stops inside DynamoDB calls."""
        app_profile, bare_profile = cProfile.Profile(CALLS.clock), cProfile.Profile(CALLS.clock)
        for _ in range(requests):
            event, context = self.event(), _context()
            app_profile.enable()
            app(event, context)
            app_profile.disable()
            made, _ = CALLS.take()
            self.bare_app.CALLS = [(op, retarget(params, self.names)) for op, params in made]
            event, context = self.event(), _context()
            bare_profile.enable()
            self.bare_app.app(event, context)
            bare_profile.disable()
            CALLS.take()
        return pstats.Stats(app_profile), pstats.Stats(bare_profile)


def _context() -> Any:
    return LambdaContext()


def load_bare_app(directory: Path) -> Any:
    """The bare app imported under its own module name (the app is ``app``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bare_app", write_bare_app(directory) / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- where the time goes -----------------------------------------------------------


def top_app_functions(stats: pstats.Stats, requests: int, n: int) -> list[tuple[str, float]]:
    """The app's own functions (app.py, chalicelib/) by cumulative time, ms
    per request under the profiler."""
    rows = []
    for (filename, line, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        owner = package_of(filename)
        if owner == "app" or owner.startswith("chalicelib"):
            module = ".".join(Path(filename).resolve().relative_to(ROOT).with_suffix("").parts)
            rows.append((f"{module}:{line} {name}", cumulative * 1e3 / requests))
    return sorted(rows, key=lambda r: -r[1])[:n]


# -- report -----------------------------------------------------------------------


def spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"median {statistics.median(values):.2f}, quartiles {q[0]:.2f}–{q[2]:.2f}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp, mock_aws():
        bench = Bench(load_bare_app(Path(tmp)))
        bench.set_up()
        printed = io.StringIO()  # EMF documents, as Lambda's stdout would take them
        with redirect_stdout(DEVNULL):
            for _ in range(WARM_UP):
                bench.pair()
        with redirect_stdout(printed):
            samples = [bench.pair() for _ in range(ITERATIONS)]
        with redirect_stdout(DEVNULL):
            app_stats, bare_stats = bench.profile(PROFILED)
        reset()
    result = report_times(samples)
    documents = sum('"_aws"' in line for line in printed.getvalue().splitlines())
    result["emf_documents_per_request"] = documents / len(samples)
    print(f"  EMF documents printed per accepted registration: {documents / len(samples):.2f}")
    report_profile(app_stats, bare_stats)
    print(json.dumps(result, ensure_ascii=False))


def report_times(samples: list[Sample]) -> dict[str, Any]:
    app_ms = [s.app_ms for s in samples]
    bare_ms = [s.bare_ms for s in samples]
    ratio = statistics.median(app_ms) / statistics.median(bare_ms)
    per_pair = [s.app_ms / s.bare_ms for s in samples]
    app_calls = statistics.median(s.app_calls_ms for s in samples)
    bare_calls = statistics.median(s.bare_calls_ms for s in samples)
    app_out = statistics.median(s.app_ms - s.app_calls_ms for s in samples)
    bare_out = statistics.median(s.bare_ms - s.bare_calls_ms for s in samples)
    operations: dict[str, int] = defaultdict(int)
    for s in samples:
        operations[", ".join(s.operations)] += 1

    print("Warm accepted registration vs a bare route making the same DynamoDB calls")
    print(f"(moto in-process, {len(samples)} interleaved pairs after {WARM_UP} warm-up, ms):")
    print(f"  app handler    {spread(app_ms)}")
    print(f"  bare route     {spread(bare_ms)}")
    print(
        f"  warm_ratio {ratio:.3f} = median app / median bare (per-pair ratios: "
        f"{spread(per_pair)}); goal <= 1.30: {'met' if ratio <= 1.3 else 'MISSED'}"
    )
    for ops, n in sorted(operations.items(), key=lambda kv: -kv[1]):
        print(f"  calls: {n} of {len(samples)} pairs made {ops}")
    print("  each request split (medians, ms):")
    print(f"    inside its DynamoDB calls   app {app_calls:6.2f}   bare {bare_calls:6.2f}")
    print(f"    outside them                app {app_out:6.2f}   bare {bare_out:6.2f}")
    return {
        "warm_ratio": round(ratio, 3),
        "warm_app_ms": round(statistics.median(app_ms), 3),
        "warm_bare_ms": round(statistics.median(bare_ms), 3),
        "warm_ratio_pairs_quartiles": [round(q, 3) for q in _quartiles(per_pair)],
        "warm_app_calls_ms": round(app_calls, 3),
        "warm_bare_calls_ms": round(bare_calls, 3),
        "warm_app_outside_calls_ms": round(app_out, 3),
        "warm_bare_outside_calls_ms": round(bare_out, 3),
        "warm_pairs": len(samples),
        "warm_operations": max(operations, key=operations.__getitem__).split(", "),
    }


def report_profile(app_stats: pstats.Stats, bare_stats: pstats.Stats) -> None:
    print(
        f"  where the app's time outside its calls goes: cProfile, {PROFILED} requests each, "
        "a clock stopped inside DynamoDB calls (ms per request, inflated by the profiler):"
    )
    print(f"    {'package':<34} {'app':>7} {'bare':>7} {'app adds':>9}")
    for name, a, b in diff(self_time_by_package, app_stats, bare_stats)[:12]:
        print(f"    {name:<34} {a:7.2f} {b:7.2f} {a - b:9.2f}")
    print("    functions by own time, app adds:")
    for name, a, b in diff(own_time_by_function, app_stats, bare_stats)[:15]:
        print(f"      {a - b:6.3f}  {name}")
    print("    the app's own functions by cumulative time:")
    for name, ms in top_app_functions(app_stats, PROFILED, 20):
        print(f"      {ms:6.3f}  {name}")


def diff(
    by: Any, app_stats: pstats.Stats, bare_stats: pstats.Stats
) -> list[tuple[str, float, float]]:
    app_totals, bare_totals = by(app_stats, PROFILED), by(bare_stats, PROFILED)
    rows = [
        (name, app_totals.get(name, 0.0), bare_totals.get(name, 0.0))
        for name in set(app_totals) | set(bare_totals)
    ]
    return sorted(rows, key=lambda r: -(r[1] - r[2]))


def _quartiles(values: list[float]) -> list[float]:
    q = statistics.quantiles(values, n=4)
    return [q[0], statistics.median(values), q[2]]


if __name__ == "__main__":
    main()
