"""DynamoDB requests and capacity per registration, and the cold import cost.

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/registration.py``).
See docs/benchmarks.md for what is counted and how.

Part 1 drives signed requests through the Chalice test client against moto
(``mock_aws``) and counts every DynamoDB API call of the request, PynamoDB's
and the raw client's alike: every botocore client created in this process
gets handlers for ``before-call``/``request-created``/``after-call`` on
``dynamodb``, installed by wrapping ``botocore.session.Session.create_client``.

Part 2 times ``import app`` against importing the third-party modules the
app imports, with the same environment. The reported ``import_ratio`` is the
steady figure: in each fresh interpreter the dependencies are imported, then
the app (what it adds on top of them), and the run's ratio is
``(dependencies + app) / dependencies``; ``import_ratio`` is the median of
those per-run ratios (spread printed). Separate fresh interpreters timing
``import app`` alone and the dependencies alone, interleaved, give a
cross-check, noisier because its two medians come from different moments.

``--requests`` runs part 1 only (benchmarks/burst.py asks it for the
requests per registration).

The last line printed is one JSON object (the figures ``make bench`` reports).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bench_env

ROOT = Path(__file__).resolve().parent.parent


ROUNDS = 5  # registration rounds (fresh phone and keys each); counts must agree
IMPORT_RUNS = 11  # fresh interpreters per import measurement

# The names app.py's import graph takes from third parties (check with
# ``python -X importtime -c "import app"``), imported the same way (pydantic
# and Powertools load lazily: ``import pydantic`` alone would be cheaper),
# plus the stdlib modules the app names.
FLOOR_IMPORTS = (
    "from chalice import Chalice, Response",
    "from botocore.exceptions import ClientError, ConnectTimeoutError",
    "from pynamodb.attributes import MapAttribute, TTLAttribute, UnicodeAttribute",
    "from pynamodb.connection import Connection",
    "from pynamodb.exceptions import PutError, PynamoDBException",
    "from pynamodb.models import Model",
    "from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints",
    "from pydantic import ValidationError",
    "from aws_lambda_powertools import Logger, Metrics",
    "from aws_lambda_powertools.metrics import MetricUnit",
    "from aws_lambda_powertools.metrics.functions import is_metrics_disabled",
    "import base64, binascii, dataclasses, enum, hashlib, hmac, json, logging, math",
    "import re, secrets, threading, zoneinfo",
)
APP_IMPORT = "import app"


# Like tests/conftest.py: the environment is set before anything imports the app.
bench_env.apply()
sys.path.insert(0, str(ROOT))  # run as benchmarks/registration.py: the app is one level up

import botocore.session  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from app import app  # noqa: E402
from chalicelib.rules.claims import Source  # noqa: E402
from chalicelib.rules.records import Registrant  # noqa: E402
from chalicelib.services.container import reset  # noqa: E402
from chalicelib.signing import signature_header  # noqa: E402
from chalicelib.store import create_tables, store  # noqa: E402
from chalicelib.store.tables import ALL_MODELS  # noqa: E402

# -- part 1: requests per registration ------------------------------------------


@dataclass
class Call:
    operation: str
    attempts: int = 0
    capacity: float = 0.0
    status: int | None = None


@dataclass
class DynamoCounter:
    """Every DynamoDB API call made by any botocore client of this process."""

    calls: list[Call] = field(default_factory=list)
    clients: list[Any] = field(default_factory=list)

    def install(self) -> None:
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                counter.watch(client)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def watch(self, client: Any) -> None:
        events = client.meta.events
        # ask every call for its consumed capacity: the app asks for none
        events.register("provide-client-params.dynamodb", _with_consumed_capacity)
        events.register("before-call.dynamodb", self._before_call)
        events.register("request-created.dynamodb", self._request_created)
        events.register("after-call.dynamodb", self._after_call)
        self.clients.append(client)

    def is_watched(self, client: Any) -> bool:
        return any(client is c for c in self.clients)

    def _before_call(self, model: Any, **_: Any) -> None:
        self.calls.append(Call(model.name))

    def _request_created(self, **_: Any) -> None:
        if self.calls:
            self.calls[-1].attempts += 1  # one per HTTP attempt: retries show here

    def _after_call(self, parsed: Any, model: Any, http_response: Any, **_: Any) -> None:
        call = self.calls[-1]
        assert call.operation == model.name
        call.status = getattr(http_response, "status_code", None)
        call.capacity = consumed_units(parsed or {})

    @contextmanager
    def measure(self) -> Iterator[list[Call]]:
        self.calls = []
        measured: list[Call] = []
        try:
            yield measured
        finally:
            measured.extend(self.calls)
            self.calls = []


# the DynamoDB operations that report consumed capacity when asked
_CAPACITY_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}


def _with_consumed_capacity(params: dict[str, Any], model: Any, **_: Any) -> None:
    if model.name in _CAPACITY_OPERATIONS:
        params["ReturnConsumedCapacity"] = "TOTAL"


def consumed_units(parsed: dict[str, Any]) -> float:
    """CapacityUnits of a response: one dict, or a list (one per table) for batches."""
    consumed = parsed.get("ConsumedCapacity")
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(c.get("CapacityUnits", 0) for c in consumed or []))


@dataclass
class Scenario:
    name: str
    expected_status: int
    expect_replayed: bool
    rounds: list[list[Call]] = field(default_factory=list)

    @property
    def steady(self) -> list[Call]:
        """A round after the first: the registrant's credentials are kept by
        the instance (10 s), as for every request of a busy registrant but one.
        All such rounds must agree."""
        later = self.rounds[1:]
        if len({tuple(c.operation for c in r) for r in later}) != 1:
            raise SystemExit(f"{self.name}: the rounds after the first made different calls")
        return later[0]

    @property
    def requests(self) -> int:
        return len(self.steady)

    @property
    def first_requests(self) -> int:
        """The first round: a fresh instance reads the registrant too."""
        return len(self.rounds[0])

    @property
    def capacity(self) -> float:
        return sum(c.capacity for c in self.steady)

    def operations(self) -> list[str]:
        return [c.operation for c in self.steady]

    def describe(self) -> str:
        attempts = sum(c.attempts for c in self.steady)
        ops = ", ".join(
            f"{c.operation}({c.capacity:g} CU{'' if c.status == 200 else f', HTTP {c.status}'})"
            for c in self.steady
        )
        return (
            f"  {self.name:<17} {self.requests} request(s) ({self.first_requests} on a fresh "
            f"instance), {attempts} HTTP attempt(s), {self.capacity:g} capacity units: {ops}"
        )


def run_registrations(counter: DynamoCounter) -> dict[str, Scenario]:
    scenarios = {
        "accepted": Scenario("accepted", 201, expect_replayed=False),
        "refused": Scenario("refused", 409, expect_replayed=False),
        "replay": Scenario("replay", 201, expect_replayed=True),
        "replay_refusal": Scenario("replay of refusal", 409, expect_replayed=True),
    }
    with mock_aws():
        reset()
        create_tables()
        # two channel registrants, as tests/support.make_registrant builds them
        first, second = (
            Registrant(
                f"reg_channel_bench{n}",
                Source.CHANNEL,
                f"bench channel {n}",
                secrets.token_hex(16),
                enabled=True,
            )
            for n in (1, 2)
        )
        for who in (first, second):
            store().put_registrant(who, datetime.now(UTC))
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            post = poster(client)
            for n in range(ROUNDS):
                doc = registration_doc(f"1381234{n:04d}")
                a = post(first, doc, f"bench-a-{n}")
                b = post(second, doc, f"bench-b-{n}")
                scenarios["accepted"].rounds.append(check(scenarios["accepted"], counter, a))
                scenarios["refused"].rounds.append(check(scenarios["refused"], counter, b))
                scenarios["replay"].rounds.append(check(scenarios["replay"], counter, a))
                scenarios["replay_refusal"].rounds.append(
                    check(scenarios["replay_refusal"], counter, b)
                )
        # every client the request path can use must have been watched
        unwatched = [m.__name__ for m in ALL_MODELS if not counter.is_watched(model_client(m))]
        if not counter.is_watched(store()._connection.client) or unwatched:
            raise SystemExit(f"a DynamoDB client escaped the counter: {unwatched or 'store'}")
        reset()
    return scenarios


def model_client(model: Any) -> Any:
    return model._get_connection().connection.client


Send = Callable[[], Any]


def poster(client: Any) -> Callable[[Any, dict[str, Any], str], Send]:
    """A prepared request: the same bytes and headers each time it is sent."""

    def prepare(who: Any, doc: dict[str, Any], key: str) -> Send:
        raw = json.dumps(doc, ensure_ascii=False).encode()
        timestamp = int(datetime.now(UTC).timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-Registrant-Id": who.registrant_id,
            "X-Signature": signature_header(who.secret, timestamp, raw),
            "Idempotency-Key": key,
        }
        return lambda: client.http.post("/v1/registrations", headers=headers, body=raw)

    return prepare


def registration_doc(phone: str) -> dict[str, Any]:
    # a channel registers a visit on its local day, not in the future: "now"
    visit = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    return {"customer": {"name": "王先生", "phone": phone}, "visit_at": visit.isoformat()}


def check(scenario: Scenario, counter: DynamoCounter, send: Send) -> list[Call]:
    with counter.measure() as calls:
        response = send()
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    if response.status_code != scenario.expected_status or replayed != scenario.expect_replayed:
        raise SystemExit(
            f"{scenario.name}: expected {scenario.expected_status} "
            f"(replayed={scenario.expect_replayed}), got {response.status_code} "
            f"(replayed={replayed}): {response.body!r}"
        )
    return calls


# -- part 2: import time ------------------------------------------------------

CHILD = (
    "import time\n"
    "{setup}\n"
    "t0 = time.perf_counter()\n"
    "{statement}\n"
    "print(repr((time.perf_counter() - t0) * 1000))\n"
)


def child_env(pycache: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in bench_env.UNSET}
    env.update(bench_env.ENV)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if pycache is None:
        # as installed: whatever bytecode exists is used, none is written
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        # bytecode for everything (the app and its dependencies alike) in a
        # private cache, written by a warm-up run: no compiling in the timings
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


# dependencies, then the app, in one fresh interpreter: both times
PAIRED_CHILD = (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "{floor}\n"
    "t1 = time.perf_counter()\n"
    "{app}\n"
    "t2 = time.perf_counter()\n"
    "print((t1 - t0) * 1000, (t2 - t1) * 1000)\n"
)


def time_paired(env: dict[str, str]) -> tuple[float, float]:
    """(dependencies ms, app-on-top ms) from one fresh interpreter."""
    source = PAIRED_CHILD.format(floor="\n".join(FLOOR_IMPORTS), app=APP_IMPORT)
    done = subprocess.run(
        [sys.executable, "-c", source],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stderr}")
    floor_ms, app_ms = done.stdout.strip().splitlines()[-1].split()
    return float(floor_ms), float(app_ms)


def time_import(statement: str, env: dict[str, str]) -> float:
    """Milliseconds of ``statement`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(setup="", statement=statement)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import failed: {statement}\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


@dataclass
class ImportTimes:
    paired: list[tuple[float, float]] = field(default_factory=list)  # (dependencies, app on top)
    app: list[float] = field(default_factory=list)  # import app alone
    floor: list[float] = field(default_factory=list)  # the dependencies alone

    @property
    def ratios(self) -> list[float]:
        return [(floor + app) / floor for floor, app in self.paired]


def time_imports(env: dict[str, str], runs: int = IMPORT_RUNS) -> ImportTimes:
    """Interleaved fresh interpreters: paired, app alone, dependencies alone."""
    time_paired(env)  # warm-up: bytecode cache, page cache
    times = ImportTimes()
    for _ in range(runs):
        times.paired.append(time_paired(env))
        times.app.append(time_import(APP_IMPORT, env))
        times.floor.append(time_import("\n".join(FLOOR_IMPORTS), env))
    return times


def import_profile(statement: str, env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """-X importtime: module -> (self µs, cumulative µs)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    profile: dict[str, tuple[int, int]] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        profile[name.strip()] = (int(own), int(cumulative))
    return profile


def app_extras(env: dict[str, str], runs: int = 3) -> list[tuple[str, float, float]]:
    """Modules `import app` loads that the floor does not, slowest (self) first:
    (name, self ms, cumulative ms), medians of ``runs`` -X importtime runs."""
    floor = import_profile("\n".join(FLOOR_IMPORTS), env)
    profiles = [import_profile(APP_IMPORT, env) for _ in range(runs)]
    extra = []
    for name in profiles[0]:
        if name in floor or not all(name in p for p in profiles):
            continue
        own = statistics.median(p[name][0] for p in profiles) / 1000
        cumulative = statistics.median(p[name][1] for p in profiles) / 1000
        extra.append((name, own, cumulative))
    return sorted(extra, key=lambda e: -e[1])


# -- report ---------------------------------------------------------------------


def main() -> None:
    counter = DynamoCounter()
    counter.install()
    printed = io.StringIO()
    with redirect_stdout(printed):  # Powertools prints EMF metric lines to stdout
        scenarios = run_registrations(counter)
    emf_lines = sum('"_aws"' in line for line in printed.getvalue().splitlines())
    requests = requests_result(scenarios, emf_lines)
    if "--requests" in sys.argv[1:]:
        print(json.dumps(requests, separators=(", ", ": ")))
        return

    print(f"DynamoDB requests per registration (moto, {ROUNDS} rounds, a later round shown):")
    for scenario in scenarios.values():
        print(scenario.describe())
    if emf_lines:
        print(
            f"  note: {emf_lines} EMF metric line(s) printed to stdout during the requests "
            "although POWERTOOLS_METRICS_DISABLED=true (single_metric ignores it)"
        )
    # one decision per key: the key is reserved before the decision (docs/benchmarks.md)
    goals = {"accepted": 4, "refused": 4, "replay": 1}
    for name, goal in goals.items():
        got = scenarios[name].requests
        print(f"  goal {name} <= {goal}: {'met' if got <= goal else 'MISSED'} ({got})")

    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        env = child_env(pycache)
        times = time_imports(env)
        extras = app_extras(env)
    uncompiled = [time_import(APP_IMPORT, child_env(None)) for _ in range(3)]
    print(json.dumps(requests | report_imports(times, extras, uncompiled), separators=(", ", ": ")))


def requests_result(scenarios: dict[str, Scenario], emf_lines: int) -> dict[str, Any]:
    return {
        "requests_accepted": scenarios["accepted"].requests,
        "requests_refused": scenarios["refused"].requests,
        "requests_replay": scenarios["replay"].requests,
        "requests_replay_refusal": scenarios["replay_refusal"].requests,
        "requests_accepted_fresh_instance": scenarios["accepted"].first_requests,
        "capacity_accepted": scenarios["accepted"].capacity,
        "capacity_refused": scenarios["refused"].capacity,
        "capacity_replay": scenarios["replay"].capacity,
        "operations_accepted": scenarios["accepted"].operations(),
        "operations_refused": scenarios["refused"].operations(),
        "operations_replay": scenarios["replay"].operations(),
        "emf_lines_while_metrics_disabled": emf_lines,
    }


def report_imports(
    times: ImportTimes, extras: list[tuple[str, float, float]], uncompiled: list[float]
) -> dict[str, Any]:
    floor_ms = statistics.median(f for f, _ in times.paired)
    increment_ms = statistics.median(a for _, a in times.paired)
    ratio = statistics.median(times.ratios)
    low, _, high = statistics.quantiles(times.ratios, n=4)
    alone_app, alone_floor = statistics.median(times.app), statistics.median(times.floor)
    print(f"\nImport time, {IMPORT_RUNS} fresh interpreters of each kind, interleaved")
    print("(bytecode cached for all):")
    print("  dependencies, then the app on top, in one interpreter (the steady figure):")
    floors, increments = [f for f, _ in times.paired], [a for _, a in times.paired]
    print(f"    dependencies     {floor_ms:7.1f} ms  (runs: {fmt(floors)})")
    print(f"    the app on top   {increment_ms:7.1f} ms  (runs: {fmt(increments)})")
    print(
        f"    import_ratio {ratio:.3f} = median of the runs' (dependencies + app) / dependencies "
        f"(quartiles {low:.3f}-{high:.3f}, range {min(times.ratios):.3f}-"
        f"{max(times.ratios):.3f}); goal <= 1.20: {'met' if ratio <= 1.2 else 'MISSED'}"
    )
    print(
        f"  cross-check, separate interpreters: import app {alone_app:.1f} ms "
        f"(runs: {fmt(times.app)}), dependencies alone {alone_floor:.1f} ms "
        f"(runs: {fmt(times.floor)}): {alone_app / alone_floor:.3f}"
    )
    has_pyc = (ROOT / "chalicelib" / "__pycache__").is_dir()
    print(
        f"  import app as installed (no private cache; chalicelib bytecode "
        f"{'present' if has_pyc else 'absent, compiled every run'}): "
        f"{statistics.median(uncompiled):.1f} ms (median of 3)"
    )
    print(
        "  slowest modules only the app loads "
        "(-X importtime, median of 3 runs, self/cumulative ms):"
    )
    for name, own, cumulative in extras[:8]:
        print(f"    {name:<45} {own:6.1f} {cumulative:7.1f}")
    return {
        "import_ratio": round(ratio, 3),
        "import_ratio_quartiles": [round(low, 3), round(high, 3)],
        "import_floor_ms": round(floor_ms, 1),
        "import_increment_ms": round(increment_ms, 1),
        "import_ms": round(floor_ms + increment_ms, 1),
        "import_alone_ms": round(alone_app, 1),
        "import_floor_alone_ms": round(alone_floor, 1),
        "import_ratio_separate": round(alone_app / alone_floor, 3),
        "import_ms_as_installed": round(statistics.median(uncompiled), 1),
    }


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    main()
