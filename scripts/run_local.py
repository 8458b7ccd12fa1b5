"""`make run`: the embedded DynamoDB, the tables, a demo project, the API and
the scheduled jobs.

Starts dynalite (an independent DynamoDB on LevelDB, whose conditional writes
are atomic) on 127.0.0.1 (a free port), keeping its data in .local/dynalite,
so a restart finds everything it had. Creates the tables that are missing
(never re-creates one). On the first run, and after `make reset`, seeds two
channels, one distribution agency and one e-commerce unit, one staff member
per role (two consultants, on that day's duty roster) and two certified
brokers, and a few months of the office's past (scripts/demo_history.py:
stale customers the start-up reclaim takes into the pool, proposed fines,
an overdue form, today's arrivals), and writes their ids, secrets and
tokens to .local/demo.json; a later run reuses that file and its data.
Serves the API on 127.0.0.1:8000 (scripts/local_server.py: `chalice local`
without query strings in its access log) and runs the schedules app.py
declares (scripts/local_schedule.py), each once at start-up.
Ctrl-C (or SIGTERM) stops everything it started.

    PORT=8001             another port for the API
    DEMO_FILE=path        where the demo project's ids and secrets are kept
    DATA_DIR=path         where dynalite keeps its data
    run_local.py --reset  forgets the data (refused while a run holds it)
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
API_PORT = int(os.environ.get("PORT", "8000"))
DATA_DIR = Path(os.environ.get("DATA_DIR", ROOT / ".local" / "dynalite"))
DEMO_FILE = Path(os.environ.get("DEMO_FILE", ROOT / ".local" / "demo.json"))
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"
START_TIMEOUT_SECONDS = 60.0
DEMO = [
    ("channel", "鲁信渠道"),
    ("channel", "泉城渠道"),
    ("distribution", "链家分销"),
    ("ecommerce", "房天下电商"),
]
# demo ID card numbers: not real people's (the region code 999999 does not exist)
BROKERS = [
    ("经纪人 李", "13900000001", "99999919800101001X"),
    ("经纪人 吴", "13900000002", "999999199002020028"),
]
STAFF = [
    ("front_desk", "前台 刘"),
    ("consultant", "置业顾问 张"),
    ("consultant", "置业顾问 李"),
    ("channel_assistant", "渠道助理 王"),
    ("sales_admin", "销管 赵"),
    ("sales_manager", "销售经理 陈"),
    ("site_manager", "案场经理 孙"),
    ("party_a_admin", "甲方管理员 周"),
]


def local_stage_env() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"]["local"].get("environment_variables", {}))
    return env


class Refused(Exception):
    """Why the local stack cannot start (printed, exit code 1)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: end when run_local.py ends, even killed (-9): a stray
    dynalite would keep the data directory locked for the next `make run`."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _child(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    # its own session: Ctrl-C reaches run_local.py alone, which stops the
    # children in order (schedules, API, then the store)
    linux = sys.platform.startswith("linux")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=_die_with_parent if linux else None,  # noqa: PLW1509 (no thread runs yet)
        **kwargs,
    )


def data_in_use(data: Path) -> bool:
    """A running dynalite holds LevelDB's lock (fcntl) on ``data/LOCK``."""
    lock = data / "LOCK"
    if not lock.exists():
        return False
    with lock.open("a") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(f, fcntl.LOCK_UN)
    return False


def reset(data: Path, demo: Path) -> str:
    if data_in_use(data):
        raise Refused(f"{data} is in use: stop `make run` first (Ctrl-C), then reset")
    shutil.rmtree(data, ignore_errors=True)
    for path in (demo, _log_of(data)):
        path.unlink(missing_ok=True)
    return f"local data forgotten ({data}, {demo}): the next `make run` seeds a new demo project"


def _log_of(data: Path) -> Path:
    return data.with_name(data.name + ".log")


def _answers_list_tables(endpoint: str) -> bool:
    import botocore.exceptions
    from botocore.config import Config
    from botocore.session import get_session

    client = get_session().create_client(
        "dynamodb",
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )
    try:
        client.list_tables(Limit=1)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return False
    return True


def start_embedded_dynamodb(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    """dynalite on a free port of 127.0.0.1, its data in ``data`` (kept)."""
    node = shutil.which("node")
    if node is None or not DYNALITE.exists():
        raise Refused("needs Node.js and node_modules/.bin/dynalite (`make run` installs it)")
    if data_in_use(data):
        raise Refused(f"{data} is in use by another `make run` (or a dynalite left running)")
    data.parent.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    flags = f"--host {HOST} --port {port} --createTableMs 0 --deleteTableMs 0 --updateTableMs 0"
    log = _log_of(data).open("ab")
    proc = _child(
        [node, str(DYNALITE), *flags.split(), "--path", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    endpoint = f"http://{HOST}:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers_list_tables(endpoint):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            tail = _log_of(data).read_text(errors="replace")[-2000:]
            raise Refused(f"dynalite did not start on {endpoint} with {data}:\n{tail}")
        time.sleep(0.1)
    return proc, endpoint


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def seed(base_url: str, *, history: bool = False) -> dict[str, object]:
    """The demo project: registrants, brokers, one person per role with a
    token, today's duty roster; with ``history``, months of the office's
    past too (``seed_history``), which `make run` seeds on its first run."""
    from chalicelib.rules.claims import Source
    from chalicelib.rules.staff import Role
    from chalicelib.services.container import rotation
    from chalicelib.services.people.brokers import certify
    from chalicelib.services.people.registrants import create_registrant
    from chalicelib.services.people.staff import create_staff, issue_token
    from chalicelib.settings import settings
    from chalicelib.store import store

    now = datetime.now(UTC)
    registrants = [create_registrant(store(), Source(kind), name, now) for kind, name in DEMO]
    brokers = [
        (
            certify(
                store(),
                settings().phone_hmac_key,
                name=name,
                phone=phone,
                id_card=card,
                now=now - timedelta(days=30),
            ),
            card,
        )
        for name, phone, card in BROKERS
    ]
    people = []
    members = []
    for role, name in STAFF:
        person = create_staff(store(), name, Role(role), now)
        token = issue_token(store(), person.staff_id, now)
        members.append(person)
        people.append({"id": person.staff_id, "name": name, "role": role, "token": token.token})
    # today's duty roster (R-FLOOR-3): the demo consultants, in turn
    manager = next(m for m in members if m.role is Role.SALES_MANAGER)
    on_duty = [m.staff_id for m in members if m.role is Role.CONSULTANT]
    today = now.astimezone(settings().policy.zone).date().isoformat()
    rotation().set_roster(manager, today, json.dumps({"consultants": on_duty}).encode(), now)
    demo: dict[str, Any] = {
        "base_url": base_url,
        "registrants": [
            {"id": r.registrant_id, "kind": r.kind.value, "name": r.name, "secret": r.secret}
            for r in registrants
        ],
        "staff": people,
        "brokers": [
            {"id": b.broker_id, "name": b.name, "phone_masked": b.phone_masked, "id_card": card}
            for b, card in brokers
        ],
    }
    if history:
        from chalicelib.errors import Failed
        from scripts.demo_history import SeedFailed

        try:
            demo["history"] = seed_history(demo, datetime.now(UTC))
        except (SeedFailed, Failed) as refused:
            # the demo project works without its past: say so, and serve
            reason = refused.problem.message if isinstance(refused, Failed) else str(refused)
            print(f"make run: the demo history was not seeded ({reason})", file=sys.stderr)
            demo["history"] = {"failed": reason}
    return demo


def seed_history(demo: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The demo office's past, written through the services with the clock
    of each moment (as the API would have written it then), so every
    role's main screen has work on the first sign-in. See scripts/demo_history.py."""
    from scripts.demo_history import History

    return History(demo, now).seed()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def _kept_demo(path: Path) -> dict[str, Any] | None:
    try:
        demo = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return demo if isinstance(demo, dict) and demo.get("registrants") else None


def prepare(base_url: str, endpoint: str) -> tuple[dict[str, Any], bool]:
    """The tables that are missing, created (dynalite refuses UpdateTimeToLive:
    no TTL here, which nothing relies on: reads compare times themselves);
    the demo project of DEMO_FILE if the store still holds it, else a new one
    (the first run, or the data was reset). (demo, whether it was seeded now)."""
    from chalicelib.store import create_tables, store

    create_tables(ttl_supported=False)
    demo = _kept_demo(DEMO_FILE)
    seeded = demo is None or store().get_registrant(demo["registrants"][0]["id"]) is None
    if seeded:
        demo = seed(base_url, history=True)
    else:  # data kept from before masked registration (decision 0013): repeatable
        from chalicelib.services.registration.resolution import note_customers_on_masks
        from chalicelib.settings import settings

        note_customers_on_masks(store(), settings())
    assert demo is not None
    demo.update(base_url=base_url, dynamodb_endpoint=endpoint)
    DEMO_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_FILE.write_text(json.dumps(demo, ensure_ascii=False, indent=2) + "\n")
    return demo, seeded


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server binds
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def start_api(endpoint: str) -> subprocess.Popen[bytes]:
    if not _port_is_free(API_PORT):
        raise Refused(f"port {API_PORT} is taken: stop what uses it, or PORT=8001 make run")
    command = [sys.executable, str(ROOT / "scripts" / "local_server.py")]
    server = _child(
        [*command, "--host", HOST, "--port", str(API_PORT)],
        env={**os.environ, "DYNAMODB_ENDPOINT": endpoint},
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if server.poll() is not None:
            raise Refused(f"the API stopped at start (exit code {server.returncode}), see above")
        with contextlib.suppress(OSError), socket.create_connection((HOST, API_PORT), 0.2):
            return server
        if time.monotonic() > deadline:
            _stop(server)
            raise Refused(f"the API did not listen on {HOST}:{API_PORT} in time")
        time.sleep(0.1)


def start_schedules() -> Any:
    """The jobs the app declares (chalicelib/api/jobs.py), run as EventBridge would."""
    import app as application
    from chalicelib.settings import settings
    from scripts.local_schedule import Scheduler, declared_jobs

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    timeouts = {
        name: int(options.get("lambda_timeout", config.get("lambda_timeout", 60)))
        for name, options in config.get("lambda_functions", {}).items()
    }
    scheduler = Scheduler(
        declared_jobs(application.app, timeouts),
        region=os.environ["AWS_DEFAULT_REGION"],
        say=lambda line: print(f"[schedules] {line}", flush=True),
        zone=settings().policy.zone,
    )
    for job in scheduler.jobs:
        print(f"[schedules] {job.name}: {job.describe()}, and once now at start-up")
    scheduler.start()
    return scheduler


def show(demo: dict[str, Any], seeded: bool, endpoint: str) -> None:
    print(f"embedded DynamoDB (dynalite) at {endpoint}, data kept in {DATA_DIR}")
    if seeded:
        print(f"first run on this data: demo project seeded, written to {DEMO_FILE}:")
    else:
        print(f"data found: the demo project of {DEMO_FILE} (`make reset` forgets it):")
    for r in demo["registrants"]:
        print(f"  {r['kind']:<12} {r['id']}  secret {r['secret']}  ({r['name']})")
    for p in demo["staff"]:
        print(f"  {p['role']:<17} {p['id']}  token {p['token']}  ({p['name']})")
    history = demo.get("history") or {}
    if seeded and "pool" in history:
        print(
            f"  demo history: {len(history['pool'])} customers last seen months ago (the reclaim"
            " at start-up takes them into the pool), fines proposed to the managers, yesterday's"
            " form overdue, a customer waiting for 判客"
            f' ({history["awaiting_decision"]["phone"]}); README, "Demo data"'
        )


def serve() -> int:
    os.environ.update(local_stage_env())
    dynamodb, endpoint = start_embedded_dynamodb(DATA_DIR)
    os.environ["DYNAMODB_ENDPOINT"] = endpoint
    api: subprocess.Popen[bytes] | None = None
    scheduler = None
    try:
        base_url = f"http://{HOST}:{API_PORT}"
        demo, seeded = prepare(base_url, endpoint)
        show(demo, seeded, endpoint)
        api = start_api(endpoint)
        print(f"serving the API on {base_url} (Ctrl-C stops everything; the data stays)")
        print(f"the console (工作台): open {base_url}/console and sign in with a token above")
        scheduler = start_schedules()
        return api.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if scheduler is not None:
            scheduler.stop()
        if api is not None:
            _stop(api)
        _stop(dynamodb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="make run: the local stack")
    parser.add_argument("--reset", action="store_true", help="forget the local data")
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell's `&` ignores it
        signal.signal(sig, _interrupt)
    try:
        if args.reset:
            print(reset(DATA_DIR, DEMO_FILE))
            return 0
        return serve()
    except Refused as refused:
        print(f"make run: {refused}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
