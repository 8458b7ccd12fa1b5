"""Cold start as deployed: ``import app`` plus the first request, against a
bare Chalice route's import plus its first request (``cold_ratio``).

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/coldstart.py``).
``COLD_RUNS`` (11) sets the fresh interpreters per side; ``COLD_PROFILES``, a
folder, keeps the profiled first requests there (cold-app.prof, cold-bare.prof).
See docs/benchmarks.md.

A moto server on 127.0.0.1 (``ThreadedMotoServer``, in this process) serves
DynamoDB, SSM and KMS over real HTTP. Before every run it is reset and given
the same state: the app's tables, the phone-HMAC key as an SSM SecureString,
one channel registrant (its secret sealed with a KMS key when the stage seals
secrets, decision 0006). Each run is a fresh interpreter with the deployed
environment (.chalice/config.json's prod stage, the template's
``PHONE_HMAC_KEY_PARAMETER`` and ``TABLE_PREFIX``, tracing on: Lambda's
X-Ray variables, the daemon address a UDP port nobody reads) that times
``import app`` and then ``app.app(event, context)`` on one signed
``POST /v1/registrations`` of a new phone (accepted, 201), as Lambda would.
The app is what ships: the prod stage's deployment zip (`make package`:
trimmed botocore models, shipped bytecode), unzipped, alone on ``sys.path``
with the standard library (``-I -S``).

The bare side is benchmarks/bare_route.py's one-route Chalice app, in its own
directory, same environment: it imports chalice and boto3, and its first
request creates a boto3 DynamoDB client and makes the DynamoDB calls the
app's first request made (captured from an untimed run of the app on the same
state), with the same parameters, from the interpreter's site-packages (as
Lambda's runtime gives boto3 to a zip that has none). Runs alternate app/bare
(ABBA); bytecode is there for both (shipped; cached by a warm-up run).
``cold_ratio`` is the median app total over the median bare total. One
profiled run of each says where the first request's time goes.
The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import pstats
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
REGION = "cn-north-1"
TABLE_PREFIX = "sales-office-cold"
PARAMETER = "/sales-office/prod/phone-hmac-key"
FUNCTION = "sales-office-prod-api_handler"
RUNS = int(os.environ.get("COLD_RUNS", "11"))

# This process only sets the state up (tables, registrant) through the app's
# own store, pointed at the moto server once it runs.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "STAGE": "bench",
        "TABLE_PREFIX": TABLE_PREFIX,
        "PHONE_HMAC_KEY": "cold-start-phone-hmac-key-0123456789",
    }
)
for _name in ("AWS_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
    os.environ.pop(_name, None)
sys.path.insert(0, str(ROOT))

from bare_route import api_event, write_bare_app  # noqa: E402

# The child: the same harness for the app and the bare route. Only json,
# base64, os, sys and time are loaded before the clock starts.
CHILD = r"""
import base64, json, os, sys, time

spec = json.loads(os.environ["BENCH_COLD"])
sys.path.insert(0, spec["project"])
event = json.loads(open(spec["event"]).read())
calls = None
if spec.get("calls"):
    def _in(doc):
        return base64.b64decode(doc["__bytes__"]) if set(doc) == {"__bytes__"} else doc
    calls = [tuple(c) for c in json.loads(open(spec["calls"]).read(), object_hook=_in)]


class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws-cn:lambda:cn-north-1:123456789012:function:" + function_name
    memory_limit_in_mb = 512
    aws_request_id = event["requestContext"]["requestId"]
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "bench"
    identity = None
    client_context = None

    def get_remaining_time_in_millis(self):
        return 20000


captured = []
if spec["mode"] == "capture":
    import copy
    import botocore.session

    _create = botocore.session.Session.create_client

    def create_client(session, service, *args, **kwargs):
        client = _create(session, service, *args, **kwargs)
        if service == "dynamodb":
            client.meta.events.register(
                "provide-client-params.dynamodb",
                lambda params, model, **_: captured.append((model.name, copy.deepcopy(params))),
            )
        return client

    botocore.session.Session.create_client = create_client

c0, t0 = time.process_time(), time.perf_counter()
import app as module
c1, t1 = time.process_time(), time.perf_counter()
if calls is not None:
    module.CALLS[:] = calls
if spec["mode"] == "profile":
    import cProfile
    profile = cProfile.Profile()
    profile.enable()
c2, t2 = time.process_time(), time.perf_counter()
response = module.app(event, Context())
c3, t3 = time.process_time(), time.perf_counter()
if spec["mode"] == "profile":
    profile.disable()
    profile.dump_stats(spec["stats"])
if spec["mode"] == "capture":
    def _out(value):
        if isinstance(value, (bytes, bytearray)):
            return {"__bytes__": base64.b64encode(value).decode()}
        raise TypeError(type(value).__name__)
    open(spec["calls_out"], "w").write(json.dumps([list(c) for c in captured], default=_out))
sys.stdout.flush()
print("\nBENCH " + json.dumps({
    "import_ms": (t1 - t0) * 1000,
    "request_ms": (t3 - t2) * 1000,
    "cpu_ms": (c1 - c0 + c3 - c2) * 1000,
    "status": response["statusCode"],
    "body": response["body"][:300],
}))
"""


@dataclass
class Run:
    import_ms: float
    request_ms: float
    cpu_ms: float  # this process's CPU time over both (not the moto server's)

    @property
    def total_ms(self) -> float:
        return self.import_ms + self.request_ms


class Backend:
    """The moto server and the state every run starts from."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        os.environ["DYNAMODB_ENDPOINT"] = self.url
        os.environ["AWS_ENDPOINT_URL_SSM"] = self.url
        os.environ["AWS_ENDPOINT_URL_KMS"] = self.url
        self.secret = secrets.token_hex(16)
        self.sealing = _stage_seals_secrets()
        self.key_arn: str | None = None

    def reset(self) -> None:
        """Everything forgotten, then the same tables, key and registrant."""
        import boto3

        from chalicelib.rules.claims import Source
        from chalicelib.rules.records import Registrant
        from chalicelib.services.container import reset as forget_services
        from chalicelib.settings import settings
        from chalicelib.store import create_tables, store

        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()
        forget_services()
        if self.sealing:
            kms = boto3.client("kms", region_name=REGION)
            self.key_arn = kms.create_key()["KeyMetadata"]["Arn"]
            os.environ["REGISTRANT_SECRETS_KEY_ID"] = self.key_arn
            settings.cache_clear()
            _forget_sealing()
        create_tables()
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=PARAMETER, Value=os.environ["PHONE_HMAC_KEY"], Type="SecureString"
        )
        registrant = Registrant(
            "reg_channel_cold", Source.CHANNEL, "cold channel", self.secret, enabled=True
        )
        store().put_registrant(registrant, datetime.now(UTC))

    def stop(self) -> None:
        self.server.stop()


def _stage_seals_secrets() -> bool:
    """Whether this checkout seals registrant secrets with KMS on a deployed
    stage (decision 0006): then the deployed first request opens one."""
    try:
        from chalicelib.store import sealing  # noqa: F401
    except ImportError:
        return False
    return True


def _forget_sealing() -> None:
    from chalicelib.store import sealing

    sealing.forget()


def trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"


class Cold:
    def __init__(self, backend: Backend, work: Path, xray_port: int, shipped: Path) -> None:
        self.backend = backend
        self.work = work
        self.shipped = shipped
        self.xray_port = xray_port
        self.pycache = work / "pycache"
        self.bare_dir = write_bare_app(work / "bare")
        self.calls_file = work / "calls.json"
        self.phone = "13900001234"

    def env(self, project: Path) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "POWERTOOLS_", "PHONE_", "DYNAMODB", "REGISTRANT"))
            and k not in ("STAGE", "TABLE_PREFIX", "PYTHONDONTWRITEBYTECODE", "_X_AMZN_TRACE_ID")
        }
        env.update(CONFIG["environment_variables"])
        env.update(CONFIG["stages"]["prod"]["environment_variables"])
        url = self.backend.url
        env.update(
            {
                # the template's (infra/template.py)
                "PHONE_HMAC_KEY_PARAMETER": PARAMETER,
                "TABLE_PREFIX": TABLE_PREFIX,
                # Lambda's
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "LAMBDA_TASK_ROOT": str(project),
                "_X_AMZN_TRACE_ID": trace_id(),
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{self.xray_port}",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                # moto instead of the region's endpoints
                "DYNAMODB_ENDPOINT": url,
                "AWS_ENDPOINT_URL_DYNAMODB": url,
                "AWS_ENDPOINT_URL_SSM": url,
                "AWS_ENDPOINT_URL_KMS": url,
                # bytecode for both sides in a private cache (warm-up runs write it)
                "PYTHONPYCACHEPREFIX": str(self.pycache),
            }
        )
        if self.backend.key_arn:
            env["REGISTRANT_SECRETS_KEY_ID"] = self.backend.key_arn
        return env

    def event_file(self) -> Path:
        visit = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0).isoformat()
        doc = {"customer": {"name": "王先生", "phone": self.phone}, "visit_at": visit}
        raw = json.dumps(doc, ensure_ascii=False).encode()
        from chalicelib.signing import signature_header

        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "x-registrant-id": "reg_channel_cold",
            "x-signature": signature_header(self.backend.secret, timestamp, raw),
            "idempotency-key": "cold-start-1",
        }
        path = self.work / "event.json"
        path.write_text(json.dumps(api_event("/v1/registrations", headers, raw)))
        return path

    def run(self, side: str, mode: str = "time") -> Run:
        self.backend.reset()
        project = self.shipped if side == "app" else self.bare_dir
        spec: dict[str, Any] = {
            "mode": mode,
            "project": str(project),
            "event": str(self.event_file()),
        }
        if side == "bare":
            spec["calls"] = str(self.calls_file)
        if mode == "capture":
            spec["calls_out"] = str(self.calls_file)
        if mode == "profile":
            spec["stats"] = str(self.work / f"{side}.prof")
        env = self.env(project) | {"BENCH_COLD": json.dumps(spec)}
        # the app: only the unzipped deployment zip and the standard library
        # (-I -S), its shipped bytecode; the bare route: the interpreter's
        # site-packages, as Lambda's runtime gives boto3 to a zip without it
        isolated = ["-I", "-S"] if side == "app" else []
        done = subprocess.run(
            [sys.executable, *isolated, "-c", CHILD],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        found = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
        if done.returncode != 0 or not found:
            raise SystemExit(
                f"{side} ({mode}) failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        result = json.loads(found[-1][len("BENCH ") :])
        if result["status"] != 201:
            raise SystemExit(f"{side} ({mode}) answered {result['status']}: {result['body']}")
        return Run(result["import_ms"], result["request_ms"], result["cpu_ms"])


def shipped(work: Path) -> Path:
    """The prod stage's deployment zip (`make package`), unzipped as Lambda
    would into /var/task."""
    from scripts.package import package

    print("packaging prod as `make package` does (~30 s)...", flush=True)
    template = package("prod", work / "package")
    tree = work / "task"
    with zipfile.ZipFile(template.with_name("deployment.zip")) as zipped:
        zipped.extractall(tree)
    return tree


def drain(sock: socket.socket) -> int:
    """Datagrams waiting on the X-Ray port (read only to count them)."""
    n = 0
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            return n
        n += 1


# -- where the first request's time goes -------------------------------------------

LANDMARKS = (
    ("imports during the request", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("the SSM key (settings._parameter)", "chalicelib/settings.py", "_parameter"),
    ("Tracer() built (observability.tracer)", "chalicelib/observability.py", "tracer"),
    ("registrant secret opened (KMS)", "chalicelib/store/sealing.py", "opened"),
    ("botocore clients created", "botocore/session.py", "create_client"),
    ("AWS calls (botocore _make_api_call)", "botocore/client.py", "_make_api_call"),
    ("X-Ray subsegments sent", "aws_xray_sdk/core/emitters/udp_emitter.py", "send_entity"),
    (
        "registration service (register)",
        "chalicelib/services/registration/registrations.py",
        "register",
    ),
)


def landmarks(stats: pstats.Stats) -> list[tuple[str, int, float]]:
    rows = []
    for label, file_part, function in LANDMARKS:
        calls, cumulative = 0, 0.0
        for (filename, _, name), (_, nc, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
            if name == function and filename.endswith(file_part):
                calls += nc
                cumulative += ct
        rows.append((label, calls, cumulative * 1000))
    return rows


def total_ms(stats: pstats.Stats) -> float:
    return float(stats.total_tt) * 1000  # type: ignore[attr-defined]


# -- report ----------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):7.1f}  (quartiles {q[0]:.0f}–{q[2]:.0f}, runs: " + (
        " ".join(f"{v:.0f}" for v in values) + ")"
    )


def main() -> None:
    backend = Backend()
    xray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    xray.bind(("127.0.0.1", 0))
    xray.setblocking(False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
            cold = Cold(backend, Path(tmp), xray.getsockname()[1], shipped(Path(tmp)))
            cold.run("app", "capture")
            calls = json.loads(cold.calls_file.read_text())
            cold.run("bare")  # warm-up: bytecode, page cache
            cold.run("app")
            drain(xray)
            runs: dict[str, list[Run]] = {"app": [], "bare": []}
            segments = []
            for n in range(RUNS):
                for side in ("app", "bare") if n % 2 == 0 else ("bare", "app"):
                    runs[side].append(cold.run(side))
                    if side == "app":
                        segments.append(drain(xray))
                    else:
                        drain(xray)
            profiles = {side: cold.run(side, "profile") for side in ("app", "bare")}
            stats = {side: pstats.Stats(str(Path(tmp) / f"{side}.prof")) for side in profiles}
            if keep := os.environ.get("COLD_PROFILES"):  # a folder to read them in later
                for side in profiles:
                    shutil.copy(Path(tmp) / f"{side}.prof", Path(keep) / f"cold-{side}.prof")
    finally:
        backend.stop()
        xray.close()
    result = report(runs, calls, segments, backend.sealing)
    report_profile(stats)
    print(json.dumps(result))


def report(
    runs: dict[str, list[Run]], calls: list[Any], segments: list[int], sealing: bool
) -> dict[str, Any]:
    app_total = statistics.median(r.total_ms for r in runs["app"])
    bare_total = statistics.median(r.total_ms for r in runs["bare"])
    ratio = app_total / bare_total
    print("Cold start as deployed (moto server on 127.0.0.1: DynamoDB, SSM, KMS; X-Ray on),")
    print(f"fresh interpreters, {RUNS} runs each, alternating, ms (median, quartiles, runs):")
    for side in ("app", "bare"):
        print(f"  {side} import           {spread([r.import_ms for r in runs[side]])}")
        print(f"  {side} first request    {spread([r.request_ms for r in runs[side]])}")
        print(f"  {side} import + request  {spread([r.total_ms for r in runs[side]])}")
    per_pair = [a.total_ms / b.total_ms for a, b in zip(runs["app"], runs["bare"], strict=True)]
    print(
        f"  cold_ratio {ratio:.2f} = median app total / median bare total (pairs: "
        f"{' '.join(f'{p:.2f}' for p in per_pair)}); goal <= 1.50: "
        f"{'met' if ratio <= 1.5 else 'MISSED'}"
    )
    cpu = {side: statistics.median(r.cpu_ms for r in runs[side]) for side in runs}
    print(
        f"  cross-check on CPU time (the child's own, less sensitive to other load; the "
        f"calls' server time left out): app {cpu['app']:.0f} ms, bare {cpu['bare']:.0f} ms, "
        f"{cpu['app'] / cpu['bare']:.2f}"
    )
    print(
        f"  the first request: {len(calls)} DynamoDB calls ({', '.join(c[0] for c in calls)}), "
        f"replayed by the bare route; the phone key read from SSM; registrant secret "
        f"{'sealed with KMS (decision 0006)' if sealing else 'stored unsealed'}; "
        f"X-Ray datagrams sent per app run: {statistics.median(segments):.0f}"
    )
    return {
        "cold_ratio": round(ratio, 3),
        "cold_app_ms": round(app_total, 1),
        "cold_bare_ms": round(bare_total, 1),
        "cold_app_import_ms": round(statistics.median(r.import_ms for r in runs["app"]), 1),
        "cold_app_request_ms": round(statistics.median(r.request_ms for r in runs["app"]), 1),
        "cold_bare_import_ms": round(statistics.median(r.import_ms for r in runs["bare"]), 1),
        "cold_bare_request_ms": round(statistics.median(r.request_ms for r in runs["bare"]), 1),
        "cold_ratio_pairs": [round(p, 3) for p in per_pair],
        "cold_ratio_cpu": round(cpu["app"] / cpu["bare"], 3),
        "cold_runs": RUNS,
        "cold_first_request_operations": [c[0] for c in calls],
        "cold_registrant_secret_sealed": sealing,
        "cold_xray_datagrams": statistics.median(segments),
    }


def report_profile(stats: dict[str, pstats.Stats]) -> None:
    print("  the first request under cProfile (one run each, ms, inflated by the profiler):")
    print(f"    {'':<40} {'app':>15} {'bare':>15}")
    whole = "whole first request"
    print(f"    {whole:<40} {total_ms(stats['app']):15.1f} {total_ms(stats['bare']):15.1f}")
    app_rows, bare_rows = landmarks(stats["app"]), landmarks(stats["bare"])
    for (label, a_n, a_ms), (_, b_n, b_ms) in zip(app_rows, bare_rows, strict=True):
        print(f"    {label:<40} {a_ms:8.1f} ({a_n:3d}x) {b_ms:8.1f} ({b_n:3d}x)")


if __name__ == "__main__":
    main()
