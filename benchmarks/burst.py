"""Launch-day burst against dynalite: registrations per second through the
HTTP layer, against the ceiling the store sets.

Run from the repo root: ``make bench``, or ``.venv/bin/python
benchmarks/burst.py``. ``BURST_TOTAL`` (10000), ``BURST_PHONES`` (1000),
``BURST_REGISTRANTS`` (20), ``BURST_THREADS`` (16) and ``STORE_PUTS`` (4000)
set the size. Needs Node.js and ``npm ci`` (dynalite), as ``make test`` does.

The burst: signed registrations sent by a separate process
(benchmarks/burst_client.js, ``BURST_THREADS`` in flight on kept-alive
connections) to the app served by Chalice's threaded local server in this
process (tests/adversarial/burst.py's ``served``), on dynalite. The CPU each
process used during the burst is printed: one Python process serves every
request here, where Lambda gives each concurrent request its own.

The ceiling: the store's own rate of conditional PutItems, sent by a separate
light process (benchmarks/store_puts.js, Node's http module,
``BURST_THREADS`` in flight) to the same dynalite, three times before the
burst and three times after; ``store_rate`` is their median. A registration
needs ``requests`` DynamoDB requests (benchmarks/registration.py --requests:
accepted and refused, weighted by the burst's own outcomes), so the store can
serve at most ``store_rate / requests`` registrations per second, and

    burst_ratio = burst_rate / (store_rate / requests)

The DynamoDB requests the burst really made on dynalite are counted too
(dynalite adds a GetItem after a failed condition: it ignores
ReturnValuesOnConditionCheckFailure). A figure, not a pass/fail: the burst's
correctness (one holder per phone) is asserted by
tests/adversarial/test_burst.py. The last line printed is one JSON object.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from profiling import self_time_by_package  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise SystemExit("benchmarks/burst.py needs Node.js (dynalite)")
    return found


def start_dynalite() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            node(),
            str(ROOT / "node_modules/.bin/dynalite"),
            "--port",
            str(port),
            "--createTableMs",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("dynalite did not start")


def requests_per_registration() -> dict[str, Any]:
    """benchmarks/registration.py's count of DynamoDB requests per accepted and
    refused registration (moto, a registrant already seen by the instance)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "registration.py"), "--requests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"registration.py --requests failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def store_rate(endpoint: str, total: int, threads: int, prefix: str) -> float:
    """Conditional PutItems per second from a separate process (store_puts.js)."""
    done = subprocess.run(
        [
            node(),
            str(ROOT / "benchmarks" / "store_puts.js"),
            endpoint,
            RAW_TABLE,
            str(total),
            str(threads),
            prefix,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"store_puts.js failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise SystemExit(f"store_puts.js: {result['failed']} puts failed")
    return float(result["rate"])


RAW_TABLE = "raw-puts"


def node_burst(
    port: int, registrants: list[Any], phones: list[str], total: int, threads: int
) -> tuple[Counter[int], float]:
    """The burst sent by burst_client.js, a separate process: (statuses, seconds)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(
            {
                "registrants": [[r.registrant_id, r.secret] for r in registrants],
                "phones": phones,
                "total": total,
                "concurrency": threads,
                "seed": 7,
            },
            f,
        )
    try:
        done = subprocess.run(
            [node(), str(ROOT / "benchmarks" / "burst_client.js"), str(port), f.name],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        raise SystemExit(f"burst_client.js failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise SystemExit(f"burst_client.js: {result['failed']} registrations never answered")
    statuses = Counter({int(k): v for k, v in result["statuses"].items()})
    return statuses, float(result["seconds"])


class ThreadProfiles:
    """cProfile on every thread started while on, each on its own thread's
    CPU clock (``time.thread_time``): where a process's CPU goes."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def __enter__(self) -> ThreadProfiles:
        def begin(*_: Any) -> None:
            profile = cProfile.Profile(time.thread_time)
            with self._lock:
                self.profiles.append(profile)
            profile.enable()  # replaces this hook on this thread

        threading.setprofile(begin)
        return self

    def __exit__(self, *_: object) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]

    def by_package(self, registrations: int) -> list[tuple[str, float]]:
        """CPU ms per registration by package, largest first."""
        totals: Counter[str] = Counter()
        for profile in self.profiles:
            stats = pstats.Stats(profile)
            for name, ms in self_time_by_package(stats, registrations).items():
                totals[name] += ms
        return totals.most_common()


def children_cpu() -> float:
    """CPU seconds of the finished children waited for (the burst's client)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Requests:
    """DynamoDB requests made by every botocore client of this process."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self._lock = threading.Lock()  # the server's threads count at once

    def install(self) -> None:
        import botocore.session

        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                client.meta.events.register("before-call.dynamodb", counter.seen)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def seen(self, model: Any, **_: Any) -> None:
        self.operations[model.name] += (
            1  # one thread at a time may lose a count: Counter += is not atomic
        )


def main() -> None:
    total = int(os.environ.get("BURST_TOTAL", "10000"))
    phones_n = int(os.environ.get("BURST_PHONES", "1000"))
    registrants_n = int(os.environ.get("BURST_REGISTRANTS", "20"))
    threads = int(os.environ.get("BURST_THREADS", "16"))
    puts_n = int(os.environ.get("STORE_PUTS", "4000"))
    per_registration = requests_per_registration()
    proc, endpoint = start_dynalite()
    counted = Requests()
    try:
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": "cn-north-1",
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "STAGE": "bench",
                "TABLE_PREFIX": "bench-burst",
                "PHONE_HMAC_KEY": "bench-phone-hmac-key-0123456789",
                "DYNAMODB_ENDPOINT": endpoint,
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "RATE_PER_SECOND": "100000",
                "RATE_BURST": "100000",
            }
        )
        counted.install()
        import boto3
        from chalice.local import ChaliceRequestHandler

        from app import app
        from chalicelib.rules.claims import Source
        from chalicelib.store import create_tables, store
        from tests.adversarial.burst import served
        from tests.support import make_registrant

        create_tables(ttl_supported=False)
        boto3.client("dynamodb", endpoint_url=endpoint).create_table(
            TableName=RAW_TABLE,
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        registrants = [make_registrant(Source.CHANNEL) for _ in range(registrants_n)]
        for r in registrants:
            store().put_registrant(r, datetime.now(UTC))
        phones = [f"139{n:08d}" for n in range(phones_n)]
        store_rate(endpoint, 500, threads, "warm-up")  # dynalite's JIT, the table
        stores = [store_rate(endpoint, puts_n, threads, f"before-{n}") for n in range(3)]
        counted.operations.clear()
        # the local server's access log line per request, to stderr: not wanted here
        ChaliceRequestHandler.log_message = lambda *_: None  # type: ignore[method-assign]
        cpu_before = (cpu_seconds(os.getpid()), cpu_seconds(proc.pid), children_cpu())
        with served(app) as port:
            statuses, seconds = node_burst(port, registrants, phones, total, threads)
        cpu_after = (cpu_seconds(os.getpid()), cpu_seconds(proc.pid), children_cpu())
        cpu = [(a - b) / seconds for a, b in zip(cpu_after, cpu_before, strict=True)]
        made = sum(counted.operations.values())
        operations = dict(counted.operations)
        stores += [store_rate(endpoint, puts_n, threads, f"after-{n}") for n in range(3)]
        profiled = int(os.environ.get("BURST_PROFILED", "1000"))
        profile = ThreadProfiles()
        if profiled:
            more = [f"137{n:08d}" for n in range(max(1, phones_n // 10))]
            with profile, served(app) as port:
                node_burst(port, registrants, more, profiled, threads)
    finally:
        proc.kill()
    figures = report(
        total=total,
        rate=total / seconds,
        stores=stores,
        statuses=statuses,
        per_registration=per_registration,
        made=made,
        operations=operations,
        sizes=(phones_n, registrants_n, threads, puts_n),
        cpu=cpu,
    )
    if profiled:
        print(
            f"  where the app's process spends its CPU, by package (cProfile on every "
            f"server thread, thread CPU clock, a further burst of {profiled}; ms per "
            f"registration, inflated by the profiler):"
        )
        for name, ms in profile.by_package(profiled)[:14]:
            print(f"    {ms:6.2f}  {name}")
    print(json.dumps(figures))


def report(
    *,
    total: int,
    rate: float,
    stores: list[float],
    statuses: Counter[int],
    per_registration: dict[str, Any],
    made: int,
    operations: dict[str, int],
    sizes: tuple[int, int, int, int],
    cpu: list[float],
) -> dict[str, Any]:
    phones_n, registrants_n, threads, puts_n = sizes
    accepted, refused = statuses.get(201, 0), statuses.get(409, 0)
    if accepted + refused != total:
        raise SystemExit(f"the burst had other answers than 201 and 409: {dict(statuses)}")
    requests = (
        accepted * per_registration["requests_accepted"]
        + refused * per_registration["requests_refused"]
    ) / total
    store = statistics.median(stores)
    ceiling = store / requests
    ratio = rate / ceiling
    counted = made / total
    print(f"Launch-day burst on dynalite: {total} registrations of {phones_n} phones,")
    print(f"  {registrants_n} registrants, {threads} threads, through the HTTP layer")
    print(f"  {rate:8.1f} registrations/s   (replies: {dict(statuses)})")
    print(
        f"  {store:8.1f} conditional PutItem/s the store serves to a separate process "
        f"(store_puts.js, {threads} in flight, median of 6 runs of {puts_n} puts: before "
        f"the burst {', '.join(f'{r:.0f}' for r in stores[:3])}, after "
        f"{', '.join(f'{r:.0f}' for r in stores[3:])})"
    )
    print(
        f"  {requests:8.2f} requests per registration (registration.py: accepted "
        f"{per_registration['requests_accepted']}, refused {per_registration['requests_refused']};"
        f" {accepted} accepted, {refused} refused here)"
    )
    print(f"  {ceiling:8.1f} registrations/s the store allows (store rate / requests)")
    print(
        f"  burst_ratio {ratio:.3f} = burst rate / ceiling; goal >= 0.80: "
        f"{'met' if ratio >= 0.8 else 'MISSED'}"
    )
    print(
        f"  requests the burst really made on dynalite: {counted:.2f} per registration "
        f"({', '.join(f'{op} {n}' for op, n in sorted(operations.items()))}); "
        f"against that ceiling: {rate / (store / counted):.3f}"
    )
    per_registration_ms = cpu[0] * 1000 / rate
    print(
        f"  CPU during the burst, cores busy: the app's process (app and HTTP server) "
        f"{cpu[0]:.2f}, dynalite {cpu[1]:.2f}, the clients (node) {cpu[2]:.2f}; the app's "
        f"process spends {per_registration_ms:.1f} ms of CPU per registration, so one "
        f"process (one core at most, the GIL) serves at most {1000 / per_registration_ms:.0f}/s"
    )
    figures = {
        "burst_ratio": round(ratio, 3),
        "burst_registrations_per_second": round(rate, 1),
        "burst_store_puts_per_second": round(store, 1),
        "burst_store_puts_per_second_runs": [round(s, 1) for s in stores],
        "burst_requests_per_registration": round(requests, 3),
        "burst_ceiling_registrations_per_second": round(ceiling, 1),
        "burst_requests_per_registration_counted": round(counted, 3),
        "burst_ratio_counted": round(rate / (store / counted), 3),
        "burst_statuses": {str(k): v for k, v in statuses.items()},
        "burst_cpu_cores_python": round(cpu[0], 2),
        "burst_cpu_cores_dynalite": round(cpu[1], 2),
        "burst_cpu_cores_clients": round(cpu[2], 2),
        "burst_cpu_ms_per_registration": round(per_registration_ms, 2),
    }
    return figures


if __name__ == "__main__":
    main()
