"""The operator's commands and `make run`'s local stack, as a newcomer uses them."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from chalice.app import Cron, Rate
from chalice.config import Config
from chalice.local import LocalDevServer

from app import app
from chalicelib.api import jobs as jobs_module
from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.signing import verify
from scripts import admin
from scripts.local_schedule import CronSchedule, Job, Scheduler, declared_jobs, next_run
from scripts.local_server import LocalServer, QueryFreeAccessLog, without_query
from scripts.run_local import seed, seed_history
from tests.conftest import payload
from tests.support import body, encode, shanghai, signed_headers

ROOT = Path(__file__).resolve().parent.parent


def test_admin_issues_a_registrant_whose_secret_signs_and_disabling_stops_it(api, capsys):
    assert admin.main(["create-registrant", "--kind", "channel", "--name", "渠道甲"]) == 0
    issued = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert issued["kind"] == "channel" and issued["secret"].startswith("whsec_")
    registrant = api.store.get_registrant(issued["id"])
    assert registrant.kind is Source.CHANNEL
    assert api.register(registrant, body(visit_at="2026-11-27T09:00:00+08:00")).status_code == 201
    assert admin.main(["disable-registrant", issued["id"]]) == 0
    r = api.register(registrant, body("13900000000", "2026-11-27T09:00:00+08:00"))
    assert r.status_code == 401
    assert payload(r)["error"]["code"] == "UNAUTHENTICATED"


def test_admin_reports_an_unknown_registrant(api, capsys):
    assert admin.main(["disable-registrant", "reg_nobody"]) == 1
    assert "No such registrant" in capsys.readouterr().err


def test_the_operator_runs_a_job_and_reads_its_runs(api, clock, capsys):
    """A job run by hand is the scheduled job: recorded like the others."""
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(visit_at="2026-11-27T09:00:00+08:00"))
    clock.move_to("2027-01-19T02:00:00+00:00")  # 10:00 Shanghai, 7 days before the end
    assert admin.main(["run-sweep"]) == 0
    assert json.loads(capsys.readouterr().out)["ending_soon"] == 1
    assert admin.main(["job-runs", "sweep"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["started_at"] == "2027-01-19T10:00:00+08:00"  # Shanghai time, as the API
    assert run["counts"]["ending_soon"] == 1
    assert admin.main(["run-reclaim"]) == 0
    capsys.readouterr()
    assert admin.main(["run-duplicate-watch"]) == 0
    assert json.loads(capsys.readouterr().out) == {"outcomes": 0, "suspected": 0}


def test_admin_prints_shanghai_times_as_the_api_does(api, capsys):
    """Every instant admin.py prints is ISO 8601 at +08:00; a time given
    without an offset is read as Shanghai's."""
    card = "99999919800101001X"
    certify = ["certify-broker", "--name", "李", "--phone", "139 0000 0001", "--id-card", card]
    assert admin.main([*certify, "--expires-at", "2027-06-30T18:00"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["certified_at"] == "2026-11-27T10:00:00+08:00"
    assert shown["expires_at"] == "2027-06-30T18:00:00+08:00"
    assert admin.main(["revoke-broker", shown["id"]]) == 0
    revoked = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert revoked["revoked_at"] == "2026-11-27T10:00:00+08:00"
    assert admin.main(["list-brokers"]) == 0
    (listed,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert listed["certified_at"].endswith("+08:00") and listed["revoked_at"].endswith("+08:00")
    channel = api.registrant(Source.CHANNEL)
    assert admin.main(["rotate-registrant-secret", channel.registrant_id]) == 0
    rotated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rotated["previous_secret_valid_until"] == "2026-11-28T10:00:00+08:00"
    assert admin.main(["run-reclaim"]) == 0
    capsys.readouterr()
    assert admin.main(["job-runs", "reclaim"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["started_at"] == "2026-11-27T10:00:00+08:00"
    assert run["finished_at"].endswith("+08:00")


def test_admin_writes_its_csv_files_under_dot_local(api, capsys, monkeypatch, tmp_path):
    """The day's channel report and a fines statement, as the API's CSV
    downloads, into .local/ by default (never the repository's root)."""
    assert admin.CSV_DIR == ROOT / ".local"
    monkeypatch.setattr(admin, "CSV_DIR", tmp_path / ".local")
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body(visit_at="2026-11-27T09:00:00+08:00")).status_code == 201
    assert admin.main(["daily-report"]) == 0
    report = json.loads(capsys.readouterr().out)
    path = Path(report["csv"])
    assert path == tmp_path / ".local" / "channel-report-2026-11-27.csv"
    assert report["totals"]["accepted"] == 1
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff日期,") and f",{channel.name},渠道,1," in text
    assert admin.main(["fines-statement", "--payer", channel.registrant_id]) == 0
    statement = json.loads(capsys.readouterr().out)
    name = f"fines-{channel.registrant_id}-2026-11.csv"
    assert Path(statement["csv"]) == tmp_path / ".local" / name
    assert (tmp_path / ".local" / name).read_text(encoding="utf-8").startswith("\ufeff月份,")
    out = tmp_path / "elsewhere" / "report.csv"
    assert admin.main(["daily-report", "--date", "2026-11-26", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["csv"] == str(out) and out.exists()
    assert admin.main(["daily-report", "--date", "26/11"]) == 1
    assert "date" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStack:
    """`make run` (scripts/run_local.py) as a child process, its data, demo
    file and port under a test's own directory; its output kept in ``lines``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.lines: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "STAGE"))}
        env.update(
            {
                "PORT": str(self.port),
                "DEMO_FILE": str(home / "demo.json"),
                "DATA_DIR": str(home / "dynalite"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/run_local.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # drained all along: a full pipe would stall the server's access log
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self._wait_until_up()
        except BaseException:
            self.proc.kill()
            raise
        self.demo = json.loads((home / "demo.json").read_text())

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, self.output
            assert time.monotonic() < deadline, f"local stack did not come up:\n{self.output}"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/events", timeout=1)
            except urllib.error.HTTPError as answered:  # 401: the API is up
                assert answered.code == 401
                break
            except OSError:
                time.sleep(0.2)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output:
            assert time.monotonic() < deadline, f"never printed {text!r}:\n{self.output}"
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stopped as Ctrl-C (SIGINT) or a service manager (SIGTERM) stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._reader.join(5)
        assert self.proc.returncode == 0, self.output


@pytest.mark.local_stack
def test_local_run_serves_the_demo_project_and_stops_cleanly(tmp_path):
    """`make run`: embedded store, seeded registrants in demo.json, signed 201 then 409."""
    stack = LocalStack(tmp_path)
    try:
        demo = stack.demo
        port = stack.port
        assert demo["base_url"] == f"http://127.0.0.1:{port}"
        kinds = sorted(r["kind"] for r in demo["registrants"])
        assert kinds == ["channel", "channel", "distribution", "ecommerce"]
        statuses = []
        for index, phone in ((0, "138 1234 5678"), (1, "+86 138-1234-5678")):
            doc = json.dumps({"customer": {"name": "王先生", "phone": phone}, "visit_at": "now"})
            out = subprocess.run(
                [
                    sys.executable,
                    "scripts/sign.py",
                    "POST",
                    "/v1/registrations",
                    doc,
                    "--as",
                    str(index),
                    "--id",
                    demo["registrants"][index]["id"],
                    "--secret",
                    demo["registrants"][index]["secret"],
                    "--base-url",
                    demo["base_url"],
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            statuses.append(out.stdout.splitlines()[0])
        assert statuses == ["201", "409"]
        roles = [p["role"] for p in demo["staff"]]
        assert sorted(set(roles)) == sorted(r.value for r in Role)
        assert roles.count("consultant") == 2
        assert len(demo["brokers"]) == 2
        for member in demo["staff"]:
            request = urllib.request.Request(
                f"{demo['base_url']}/v1/staff/me",
                headers={"Authorization": f"Bearer {member['token']}"},
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                assert json.loads(answer.read())["role"] == member["role"]
        # both demo consultants are on today's duty roster (R-FLOOR-3)
        desk = next(p for p in demo["staff"] if p["role"] == "front_desk")
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        request = urllib.request.Request(
            f"{demo['base_url']}/v1/rosters/{today}",
            headers={"Authorization": f"Bearer {desk['token']}"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            queue = [p["id"] for p in json.loads(answer.read())["queue"]]
        # in turn: the demo's customer received this morning moved one to the end
        assert sorted(queue) == sorted(p["id"] for p in demo["staff"] if p["role"] == "consultant")
        demo_history_is_on_every_main_screen(stack)
    finally:
        stack.stop()


@pytest.mark.parametrize(
    "first_run",
    [
        "2026-11-27 09:00",  # the browser tests' morning
        "2026-12-01 00:00:20",  # just after midnight, before the 1st's reclaim run
        "2026-12-01 02:00:10",  # just after it
        "2027-03-01 01:00",  # after a short February (a visit on 29 Oct is stale on 28 Feb)
        "2026-12-31 23:59:30",  # the last minute of a year
    ],
)
def test_the_demo_history_gives_each_role_work_whenever_the_first_run_is(tables, first_run):
    """The seed of `make run`, then the jobs as its start-up runs them: the
    pool, the proposed fines and an overdue form are there at any hour."""
    with time_machine.travel(shanghai(first_run), tick=True):
        demo = seed("http://127.0.0.1:8000", history=True)
        history = demo["history"]
        assert "failed" not in history, history
        now = datetime.now(UTC)
        container.sweep().run(now)
        assert container.reclaim().run(now)["reclaimed"] == 3
        pool = container.pool().view(now)["data"]
        assert sorted(c["phone_masked"] for c in pool) == sorted(history["pool"])
        assert {c["pooled_at"] for c in pool} == {history["reclaim_run"]}
        assert history["reclaim_run"].endswith("T02:00:00+08:00")
        proposed = container.fines().waiting({}, now)["data"]
        assert sorted(f["rule"] for f in proposed) == ["R-FINE-1", "R-FINE-2", "R-FINE-4"]
        appealed = container.fines().waiting({"status": "appealed"}, now)["data"]
        assert [f["id"] for f in appealed] == [history["appealed_fine"]["id"]]
        overdue = history["overdue_form"]
        forms = container.visits().forms({"date": overdue["date"]}, now)
        assert [v["id"] for v in forms["overdue"]] == [overdue["visit_id"]]
        today = container.visits().forms({}, now)
        assert [v["id"] for v in today["pending"]] == [history["pending_form"]["visit_id"]]
        # received in turn as the README's "Demo data" says: 张 (first on the
        # roster) the first customer of each day, 李 the second
        zhang, li = (p["id"] for p in demo["staff"] if p["role"] == "consultant")
        for first in ("protected", "overdue_form", "pending_form"):
            assert history[first]["consultant_id"] == zhang, first
        assert history["not_greeted"]["consultant_id"] == li
        assert history["kept_walk_in"]["consultant_id"] == li
        assert history["appealed_fine"]["payer_id"] == li
        # seeded once: a second seeding of the same store changes nothing
        assert "skipped" in seed_history(demo, datetime.now(UTC))


def _get(demo: dict[str, Any], role: str, path: str) -> Any:
    member = next(p for p in demo["staff"] if p["role"] == role)
    request = urllib.request.Request(
        f"{demo['base_url']}{path}", headers={"Authorization": f"Bearer {member['token']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def demo_history_is_on_every_main_screen(stack: LocalStack) -> None:
    """The first run's history, read through the API as each role's screen
    reads it: the reclaim at start-up filled the pool, fines wait for a
    manager, yesterday's form is overdue, today has work."""
    demo = stack.demo
    history = demo["history"]
    stack.wait_for("[schedules] job monthly_reclaim ran (at start-up", seconds=60)
    assert "'reclaimed': 3" in stack.output.split("job monthly_reclaim ran (at start-up")[1]
    pool = _get(demo, "sales_manager", "/v1/pool")["data"]
    assert sorted(c["phone_masked"] for c in pool) == sorted(history["pool"])
    assert {c["pooled_at"] for c in pool} == {history["reclaim_run"]}
    proposed = _get(demo, "site_manager", "/v1/fines?status=proposed")["data"]
    rules = sorted(f["rule"] for f in proposed)
    # R-FINE-1/2 from yesterday's arrival; R-FINE-4 from the start-up sweep
    assert rules == ["R-FINE-1", "R-FINE-2", "R-FINE-4"], rules
    appealed = _get(demo, "sales_manager", "/v1/fines?status=appealed")["data"]
    assert [f["id"] for f in appealed] == [history["appealed_fine"]["id"]]
    zone = ZoneInfo("Asia/Shanghai")
    yesterday = (datetime.now(zone).date() - timedelta(days=1)).isoformat()
    forms = _get(demo, "channel_assistant", f"/v1/forms?date={yesterday}")
    assert [v["id"] for v in forms["overdue"]] == [history["overdue_form"]["visit_id"]]
    consultant = history["overdue_form"]["consultant_id"]
    token = next(p["token"] for p in demo["staff"] if p["id"] == consultant)
    request = urllib.request.Request(
        f"{demo['base_url']}/v1/forms?date={yesterday}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        mine = json.loads(answer.read())
    assert [v["customer"]["phone_masked"] for v in mine["overdue"]] == ["135****0501"]
    today = _get(demo, "channel_assistant", "/v1/forms")
    assert [v["id"] for v in today["pending"]] == [history["pending_form"]["visit_id"]]
    visits = _get(demo, "front_desk", "/v1/visits")["data"]
    waiting = next(v for v in visits if v["id"] == history["awaiting_decision"]["visit_id"])
    assert waiting["decision"] is None


# -- make run's schedules: the handlers app.py declares, at their times -----------


def _declared() -> dict[str, Job]:
    return {job.name: job for job in declared_jobs(app)}


def test_make_run_follows_the_schedules_app_py_declares():
    jobs = _declared()
    assert set(jobs) == {"expiry_sweep", "duplicate_watch", "monthly_reclaim", "delivery_retries"}
    # the very objects Lambda calls (handler strings chalicelib.api.jobs.expiry_sweep, …)
    assert jobs["expiry_sweep"].handler is jobs_module.expiry_sweep
    assert jobs["monthly_reclaim"].handler is jobs_module.monthly_reclaim
    at = datetime(2026, 12, 2, 10, 5, tzinfo=UTC)
    for hourly in ("expiry_sweep", "duplicate_watch"):
        assert next_run(jobs[hourly].expression, at, at) == at + timedelta(hours=1)
    # back after five hours asleep: one run catches up, not five in a row
    late = at + timedelta(hours=5, minutes=1)
    assert next_run(jobs["expiry_sweep"].expression, at, late) == at + timedelta(hours=6)
    # pushed events (decision 0010): what the stream delivers when deployed, every minute
    assert next_run(jobs["delivery_retries"].expression, at, at) == at + timedelta(minutes=1)


def test_the_monthly_reclaim_runs_at_two_in_the_morning_shanghai_on_every_1st():
    """R-RECLAIM-1: cron(0 18 L * ? *) in UTC is 02:00 on the 1st in Shanghai,
    through short months and a leap February."""
    reclaim = _declared()["monthly_reclaim"].expression
    at, runs = datetime(2026, 12, 2, tzinfo=UTC), []
    for _ in range(15):
        at = next_run(reclaim, at, at)
        runs.append(at.astimezone(ZoneInfo("Asia/Shanghai")))
    assert {(r.day, r.hour, r.minute) for r in runs} == {(1, 2, 0)}
    assert [(r.year, r.month) for r in runs][:2] == [(2027, 1), (2027, 2)]
    assert runs[-1] == datetime(2028, 3, 1, 2, tzinfo=ZoneInfo("Asia/Shanghai"))  # after Feb 29


def test_cron_fields_are_read_as_eventbridge_reads_them():
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    weekdays = CronSchedule(Cron("0/15", "9-17", "?", "*", "MON-FRI", "*"))
    assert weekdays.next_after(saturday) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert weekdays.next_after(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)).minute == 15
    once = CronSchedule(Cron(30, 1, "1,15", "JAN", "?", "2027"))
    assert once.next_after(saturday) == datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    for unread in (Cron(0, 0, "?", "*", "6#3", "*"), Cron(0, 0, "15W", "*", "?", "*")):
        with pytest.raises(ValueError):
            CronSchedule(unread)


def test_a_scheduled_run_is_the_deployed_handler_with_a_cloudwatch_event(api, clock):
    """Through the job middleware, recorded as `admin.py job-runs` shows it."""
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(visit_at="2026-11-27T09:00:00+08:00"))
    clock.move_to("2027-01-19T02:00:00+00:00")  # 7 days before the protection ends
    said: list[str] = []
    scheduler = Scheduler(declared_jobs(app), region="cn-north-1", say=said.append)
    sweep = _declared()["expiry_sweep"]
    counts = scheduler.run(sweep, datetime.now(UTC), "by hand")
    assert counts is not None and counts["ending_soon"] == 1
    assert said[0].startswith("job expiry_sweep ran (by hand, request ")
    (run,) = api.store.runs("sweep")
    assert run["counts"]["ending_soon"] == 1 and run["finished_at"] is not None


def test_a_failing_job_is_printed_and_the_schedules_go_on():
    def broken(event, context):
        raise RuntimeError("store unreachable")

    said: list[str] = []
    scheduler = Scheduler([], region="cn-north-1", say=said.append)
    job = Job("broken", Rate(1, unit=Rate.HOURS), broken)
    assert scheduler.run(job, datetime.now(UTC), "at start-up") is None
    assert "job broken (at start-up) FAILED" in said[0] and "store unreachable" in said[0]


def test_each_job_runs_once_at_start_up_then_at_its_time():
    """A restart is usually late for something: each job runs at once, then
    on its schedule (here a fake clock moved an hour on)."""
    now = [datetime(2026, 12, 2, 10, 5, tzinfo=UTC)]
    calls: list[tuple[str, dict[str, Any], Any]] = []

    def recorder(name: str) -> Any:
        def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
            calls.append((name, event, context))
            return {"done": 1}

        return handler

    jobs = [
        Job("hourly", Rate(1, unit=Rate.HOURS), recorder("hourly")),
        Job("monthly", Cron(0, 18, "L", "*", "?", "*"), recorder("monthly")),
    ]
    said: list[str] = []
    scheduler = Scheduler(
        jobs, region="cn-north-1", say=said.append, clock=lambda: now[0], max_wait_seconds=0.02
    )
    scheduler.start()
    try:
        _until(lambda: len(scheduler.next_at) == 2)
        assert [name for name, _, _ in calls] == ["hourly", "monthly"]
        assert scheduler.next_at == {
            "hourly": datetime(2026, 12, 2, 11, 5, tzinfo=UTC),
            "monthly": datetime(2026, 12, 31, 18, 0, tzinfo=UTC),
        }
        now[0] += timedelta(hours=1)
        _until(lambda: len(calls) == 3)
        time.sleep(0.1)  # and nothing more
        assert [name for name, _, _ in calls] == ["hourly", "monthly", "hourly"]
    finally:
        scheduler.stop()
    _, event, context = calls[2]
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert event["time"] == "2026-12-02T11:05:00Z"
    assert event["resources"][0].startswith("arn:aws-cn:events:cn-north-1:")
    assert context.function_name == "hourly" and context.aws_request_id
    assert any("scheduled for 2026-12-02 11:05:00 UTC" in line for line in said)


def _until(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- make run's server: its access log ----------------------------------------------


def test_the_local_servers_access_log_leaves_query_strings_out(tables, capsys):
    """A cursor or a token in a query string is no business of the terminal."""
    port = _free_port()
    server = LocalDevServer(
        app,
        Config.create(),
        "127.0.0.1",
        port,
        handler_cls=QueryFreeAccessLog,
        server_cls=LocalServer,
    )
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/v1/registrations?cursor=rg_SECRETCURSOR&limit=5"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
    finally:
        server.shutdown()
        server.server.server_close()
    logged = capsys.readouterr().err
    assert '"GET /v1/registrations HTTP/1.1" 401' in logged
    assert "SECRETCURSOR" not in logged and "limit=" not in logged
    assert without_query("code 400, message Bad request syntax ('GET /x?token=t HTTP/1.1')") == (
        "code 400, message Bad request syntax ('GET /x HTTP/1.1')"
    )


# -- make run's store: atomic, and kept across restarts ------------------------------

RACERS = 8
ROUNDS = 100


def _call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    raw: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    connection.request(method, path, body=raw or None, headers=headers or {})
    reply = connection.getresponse()
    return reply.status, json.loads(reply.read() or b"null")


def _as_registrant(issued: dict[str, Any]) -> Any:
    """What signing needs of a registrant POST /v1/registrants issued."""
    return types.SimpleNamespace(registrant_id=issued["id"], secret=issued["secret"])


def _registrations_of(port: int, who: Any) -> set[str]:
    """Every registration the registrant reads back (GET, signed, all pages)."""
    found: set[str] = set()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    cursor = None
    while True:
        path = "/v1/registrations?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = _call(connection, "GET", path, b"", signed_headers(who, b"", key=None))
        assert status == 200, page
        found |= {r["registration_id"] for r in page["data"]}
        cursor = page["next_cursor"]
        if not cursor:
            connection.close()
            return found


@pytest.mark.local_stack
def test_make_run_grants_a_raced_phone_once_and_keeps_every_registration_over_a_restart(
    tmp_path,
):
    """Eight channels race for one phone over HTTP, 100 rounds, on the real
    `make run` stack: one 201 and seven 409 R-DUP-1 each round (moto's server,
    its store before, let two win in 3 of 300 rounds). Stopped and started
    again on the same data, the store gives back every registration."""
    stack = LocalStack(tmp_path)
    try:
        admin_token = next(p["token"] for p in stack.demo["staff"] if p["role"] == "party_a_admin")
        admin = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        racers = []
        for n in range(RACERS):
            ask = encode({"kind": "channel", "name": f"竞速渠道 {n}"})
            status, issued = _call(
                admin,
                "POST",
                "/v1/registrants",
                ask,
                {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
            )
            assert status == 201, issued
            racers.append(_as_registrant(issued))
        admin.close()

        outcomes: list[list[tuple[int, str | None]]] = [[] for _ in range(ROUNDS)]
        won: dict[str, set[str]] = {r.registrant_id: set() for r in racers}
        barrier = threading.Barrier(RACERS)
        failures: list[BaseException] = []

        def race(who: Any) -> None:
            # one kept-alive connection each: no connect burst per round
            connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
            try:
                for round_ in range(ROUNDS):
                    visit = datetime.now(UTC).replace(microsecond=0).isoformat()
                    raw = encode(body(f"137{round_:08d}", visit))
                    headers = signed_headers(who, raw)
                    barrier.wait(timeout=60)
                    status, answer = _call(connection, "POST", "/v1/registrations", raw, headers)
                    if status == 201:
                        won[who.registrant_id].add(answer["registration_id"])
                        outcomes[round_].append((status, None))
                    else:
                        outcomes[round_].append(
                            (status, (answer or {}).get("error", {}).get("code"))
                        )
            except BaseException as failure:
                failures.append(failure)
                barrier.abort()
            finally:
                connection.close()

        threads = [threading.Thread(target=race, args=(who,)) for who in racers]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - began
        assert failures == [], failures
        doubles = [n for n, got in enumerate(outcomes) if [s for s, _ in got].count(201) != 1]
        assert doubles == [], f"rounds without exactly one winner: {doubles}"
        refusals = {(s, code) for got in outcomes for s, code in got if s != 201}
        assert refusals == {(409, "DUPLICATE_LIVE_CLAIM")}
        assert sum(len(w) for w in won.values()) == ROUNDS
        before = {who.registrant_id: _registrations_of(stack.port, who) for who in racers}
        assert before == won
        masked_race_over_http(stack.port, racers[:4])
        won = {who.registrant_id: _registrations_of(stack.port, who) for who in racers}
        # the jobs ran at start-up, through the deployed handlers
        stack.wait_for("[schedules] job monthly_reclaim ran (at start-up")
        assert "[schedules] job expiry_sweep ran (at start-up" in stack.output
        # and no query string reached the access log
        assert '"GET /v1/registrations HTTP/1.1" 200' in stack.output
        assert "limit=100" not in stack.output
    finally:
        stack.stop(signal.SIGINT)  # Ctrl-C

    again = LocalStack(tmp_path)
    try:
        assert "data found: the demo project of" in again.output
        assert again.demo["registrants"] == stack.demo["registrants"]  # not seeded anew
        after = {who.registrant_id: _registrations_of(again.port, who) for who in racers}
        assert after == won
        refused = _reset(tmp_path)  # `make reset` while it runs
        assert refused.returncode == 1 and "stop `make run` first" in refused.stderr
    finally:
        again.stop()
    print(f"{ROUNDS} rounds of {RACERS} racers in {seconds:.1f} s")

    assert _reset(tmp_path).returncode == 0
    assert not (tmp_path / "dynalite").exists() and not (tmp_path / "demo.json").exists()
    fresh = LocalStack(tmp_path)
    try:
        assert "first run on this data: demo project seeded" in fresh.output
        assert {r["id"] for r in fresh.demo["registrants"]}.isdisjoint(
            r["id"] for r in stack.demo["registrants"]
        )
    finally:
        fresh.stop()


def masked_race_over_http(port: int, racers: list[Any], rounds: int = ROUNDS) -> None:
    """隐号报备 (decision 0013) on the real stack: each round two channels
    send a fresh number's mask and two send the number, released together.
    Exactly one of the four wins; the others are refused by R-DUP-1."""
    outcomes: list[list[int]] = [[] for _ in range(rounds)]
    codes: set[str | None] = set()
    barrier = threading.Barrier(len(racers))
    failures: list[BaseException] = []

    def race(i: int, who: Any) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for round_ in range(rounds):
                number = f"136{round_:08d}"
                customer = (
                    {"phone_masked": f"{number[:3]}****{number[-4:]}"}
                    if i % 2
                    else {"phone": number}
                )
                visit = datetime.now(UTC).replace(microsecond=0).isoformat()
                raw = encode({"customer": {"name": "王先生", **customer}, "visit_at": visit})
                headers = signed_headers(who, raw)
                barrier.wait(timeout=60)
                status, answer = _call(connection, "POST", "/v1/registrations", raw, headers)
                outcomes[round_].append(status)
                if status != 201:
                    codes.add((answer or {}).get("error", {}).get("code"))
        except BaseException as failure:
            failures.append(failure)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(i, who)) for i, who in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures
    doubles = [n for n, got in enumerate(outcomes) if got.count(201) != 1]
    assert doubles == [], f"masked race: rounds without exactly one winner: {doubles}"
    assert codes <= {"MASKED_CLAIM_MATCH", "DUPLICATE_LIVE_CLAIM"}, codes
    assert "MASKED_CLAIM_MATCH" in codes  # the two kinds met on the mask


def _reset(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEMO_FILE": str(home / "demo.json"), "DATA_DIR": str(home / "dynalite")}
    return subprocess.run(
        [sys.executable, "scripts/run_local.py", "--reset"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


# -- make run: appeals and pushed events raced over HTTP ----------------------------

APPEAL_ROUNDS = 20
PUSHED_REGISTRATIONS = 4  # the pushed registrant's events: one or more each
REPLAYERS = 3
REPLAY_ROUNDS = 5


@pytest.mark.local_stack
def test_make_run_files_one_appeal_answers_it_once_and_pushes_each_event_once_under_replays(
    tmp_path,
):
    """Two races on one real `make run` stack, over HTTP.

    Appeals (decision 0012), 20 rounds, each on a fresh customer that 判客
    gave to the second demo channel while the first brought it (the first
    one's ended recommendation of 70 days ago is the one step written to the
    stack's store, by scripts/appeal_demo.py: see ``_passed_over``): the first
    channel files twice at once with two Idempotency-Keys while the sales
    manager files for it, and exactly one appeal is made (R-APPEAL-3: the
    other two are 409 APPEAL_EXISTS); the site manager's uphold and reverse
    sent at once leave one answer (R-APPEAL-5: the other is 409
    APPEAL_ALREADY_DECIDED), and the customer one live claim, the winner's.

    Pushed events (decision 0010): a registrant's endpoint is a receiver in
    this test; Party A's replays of every delivery, several at once, race
    the minute's job (the stack's own at its tick, then a second invocation
    of it made by tests/local_stack_worker.py). The receiver, dropping a
    repeated Event-Id, gets each event once in feed order; raw sends per
    event stay within the replays accepted; and the delivery log read over
    HTTP says each delivery is delivered, with one attempt per send."""
    began = time.monotonic()
    stack = LocalStack(tmp_path)
    try:
        with _Receiver() as receiver:
            # first: its events settle (30 s) while the appeals race
            pushed = _pushed_registrant(stack, receiver)
            appeals_raced_over_http(stack)
            with _JobWorker(stack) as worker:
                replays_raced_over_http(stack, receiver, worker, pushed)
    finally:
        stack.stop()
    print(f"appeals and pushed events raced on make run in {time.monotonic() - began:.1f} s")


def _token(stack: LocalStack, role: str) -> dict[str, str]:
    token = next(p["token"] for p in stack.demo["staff"] if p["role"] == role)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _code(answer: Any) -> str | None:
    return ((answer or {}).get("error") or {}).get("code")


def _race_over_http(port: int, racers: list[Any], rounds: int) -> list[list[Any]]:
    """Each racer, ``round -> fire(connection)``, prepares its request, waits
    for the others at the round's barrier, then fires on its own kept-alive
    connection. Returns what each fire returned, per round and racer."""
    outcomes: list[list[Any]] = [[None] * len(racers) for _ in range(rounds)]
    barrier = threading.Barrier(len(racers))
    failures: list[BaseException] = []

    def race(i: int, make: Any) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for round_ in range(rounds):
                fire = make(round_)
                barrier.wait(timeout=60)
                outcomes[round_][i] = fire(connection)
        except BaseException as failure:
            failures.append(failure)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(i, m)) for i, m in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures
    return outcomes


def _request(method: str, path: str, raw: bytes, headers: dict[str, str]) -> Any:
    return lambda connection: _call(connection, method, path, raw, headers)


# -- appeals (decision 0012) -----------------------------------------------------------


def appeals_raced_over_http(stack: LocalStack, rounds: int = APPEAL_ROUNDS) -> None:
    demo = stack.demo
    assert [r["kind"] for r in demo["registrants"][:2]] == ["channel", "channel"]
    claimant, holder = (_as_registrant(r) for r in demo["registrants"][:2])
    office = types.SimpleNamespace(
        port=stack.port,
        claimant=claimant,
        holder=holder,
        desk=_token(stack, "front_desk"),
        assistant=_token(stack, "channel_assistant"),
        sales=_token(stack, "sales_manager"),
        site=_token(stack, "site_manager"),
    )
    cases = _passed_over(stack, office, [f"1356601{n:04d}" for n in range(rounds)])
    appeal_ids = _filed_at_once(office, cases)
    answered = _answered_at_once(office, appeal_ids)
    _one_answer_stands(office, cases, answered)
    won = Counter(a["answer"]["outcome"] for a in answered)
    print(f"appeals on make run: {rounds} rounds, answers won {dict(won)}")


def _passed_over(stack: LocalStack, office: Any, phones: list[str]) -> list[tuple[str, ...]]:
    """Each phone: the second demo channel registers it, the first brings the
    customer, the channel assistant decides for the second (判客). Returns
    (phone, visit id, the decided registration) for each."""
    # The one step not made over HTTP: the first channel's recommendation of
    # each phone 70 days ago, its protection ended. A live system never holds
    # two channels' claims at once (R-DUP-1), so this past cannot be made
    # through the API in less than 60 days; scripts/appeal_demo.py (README,
    # "Appeals of a 判客 decision") writes it to the running stack's store as
    # the registration would have written it then.
    past = subprocess.run(
        [sys.executable, "-m", "tests.local_stack_worker", "past", *phones],
        cwd=ROOT,
        env=_worker_env(stack),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert past.returncode == 0, past.stdout + past.stderr
    floor = http.client.HTTPConnection("127.0.0.1", office.port, timeout=30)
    cases = []
    for phone in phones:
        raw = encode(body(phone, datetime.now(UTC).replace(microsecond=0).isoformat()))
        headers = signed_headers(office.holder, raw)
        status, registered = _call(floor, "POST", "/v1/registrations", raw, headers)
        assert status == 201, registered
        arrival = {"party_size": 1, "greeted": True, "phone": phone, "name": "王先生"}
        arrival["accompanied_by"] = office.claimant.registrant_id
        status, visit = _call(floor, "POST", "/v1/visits", encode(arrival), office.desk)
        assert status == 201, visit
        decide = encode({"registration_id": registered["registration_id"]})
        path = f"/v1/visits/{visit['id']}/decisions"
        status, decided = _call(floor, "POST", path, decide, office.assistant)
        assert status == 201, decided
        assert decided["decision"]["registration_id"] == registered["registration_id"]
        cases.append((phone, visit["id"], registered["registration_id"]))
    floor.close()
    return cases


def _filed_at_once(office: Any, cases: list[tuple[str, ...]]) -> list[str]:
    """R-APPEAL-3: the passed-over channel twice (two Idempotency-Keys) and
    the sales manager for it, at once: one appeal, two APPEAL_EXISTS."""
    claimant = office.claimant

    def mine(first: str) -> Any:
        def make(round_: int) -> Any:  # a new key each round, as a client makes one
            raw = encode({"phone": cases[round_][0], "reason": "我司带访"})
            key = f"{first}-{round_}-{os.urandom(6).hex()}"
            return _request("POST", "/v1/appeals", raw, signed_headers(claimant, raw, key=key))

        return make

    def for_it(round_: int) -> Any:
        doc = {"phone": cases[round_][0], "reason": "代申诉", "claimant_id": claimant.registrant_id}
        return _request("POST", "/v1/appeals", encode(doc), office.sales)

    filed = _race_over_http(office.port, [mine("first"), mine("second"), for_it], len(cases))
    appeal_ids = []
    for round_, got in enumerate(filed):
        assert sorted(s for s, _ in got) == [201, 409, 409], (round_, got)
        assert {_code(a) for s, a in got if s == 409} == {"APPEAL_EXISTS"}, (round_, got)
        (appeal,) = (a for s, a in got if s == 201)
        assert appeal["state"] == "pending" and appeal["claimant_id"] == claimant.registrant_id
        appeal_ids.append(appeal["appeal_id"])
    return appeal_ids


ANSWERS = {"upheld": "报备在先", "reversed": "监控为证"}


def _answered_at_once(office: Any, appeal_ids: list[str]) -> list[dict[str, Any]]:
    """R-APPEAL-5: the site manager's uphold and reverse sent at once: one
    answer (200), the other APPEAL_ALREADY_DECIDED. Returns the answers."""

    def answer(outcome: str) -> Any:
        def make(round_: int) -> Any:
            doc = encode({"outcome": outcome, "reason": ANSWERS[outcome]})
            path = f"/v1/appeals/{appeal_ids[round_]}/decision"
            return _request("POST", path, doc, office.site)

        return make

    decided = _race_over_http(office.port, [answer("upheld"), answer("reversed")], len(appeal_ids))
    answered = []
    for round_, got in enumerate(decided):
        assert sorted(s for s, _ in got) == [200, 409], (round_, got)
        (refused,) = (a for s, a in got if s == 409)
        assert _code(refused) == "APPEAL_ALREADY_DECIDED", (round_, got)
        (winner,) = (a for s, a in got if s == 200)
        outcome = winner["answer"]["outcome"]
        assert winner["state"] == outcome and winner["answer"]["reason"] == ANSWERS[outcome]
        assert winner["appeal_id"] == appeal_ids[round_]
        answered.append(winner)
    return answered


def _one_answer_stands(
    office: Any, cases: list[tuple[str, ...]], answered: list[dict[str, Any]]
) -> None:
    """Read back over HTTP: each appeal in its answer's queue only; the 判客
    lookup shows one appeal and one live claim, the winner's; the visit's
    decision in force names it; the decided registration reads accordingly."""
    floor = http.client.HTTPConnection("127.0.0.1", office.port, timeout=30)
    queues = {}
    for state in ("pending", "reversing", "upheld", "reversed"):
        status, queue = _call(floor, "GET", f"/v1/appeals?state={state}", b"", office.site)
        assert status == 200, queue
        queues[state] = {a["appeal_id"] for a in queue["data"]}
    for (phone, visit_id, decided), winner in zip(cases, answered, strict=True):
        outcome, appeal_id = winner["state"], winner["appeal_id"]
        assert [s for s, ids in queues.items() if appeal_id in ids] == [outcome], winner
        lookup = encode({"phone": phone})
        status, found = _call(floor, "POST", "/v1/customer-lookups", lookup, office.assistant)
        assert status == 200, found
        assert [(a["appeal_id"], a["state"]) for a in found["appeals"]] == [(appeal_id, outcome)]
        live = [c for c in found["claims"] if c["status"] in ("protected", "provisional")]
        assert len(live) == 1, (phone, found["claims"])
        (claim,) = live
        assert [c["registration_id"] for c in found["live_claims"]] == [claim["registration_id"]]
        reversed_ = outcome == "reversed"
        expected = winner["new_registration_id"] if reversed_ else decided
        assert claim["registration_id"] == expected, (winner, claim)
        who = office.claimant if reversed_ else office.holder
        assert claim["holder_id"] == who.registrant_id
        status, visit = _call(floor, "GET", f"/v1/visits/{visit_id}", b"", office.assistant)
        assert status == 200, visit
        assert visit["decision"]["registration_id"] == expected
        headers = signed_headers(office.holder, b"", key=None)
        status, mine = _call(floor, "GET", f"/v1/registrations/{decided}", b"", headers)
        assert status == 200, mine
        assert mine["status"] == ("expired" if reversed_ else "protected"), (winner, mine)
    floor.close()


# -- pushed events (decision 0010) -----------------------------------------------------


def _worker_env(stack: LocalStack) -> dict[str, str]:
    """tests/local_stack_worker.py on this stack's store (as LocalStack's own env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "STAGE"))}
    return {**env, "DEMO_FILE": str(stack.home / "demo.json"), "PYTHONUNBUFFERED": "1"}


class _JobWorker:
    """tests/local_stack_worker.py's ``job``: one more invocation of the
    minute's delivery job against the stack's store each time ``run`` is
    called, besides the stack's own scheduler."""

    def __init__(self, stack: LocalStack) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.local_stack_worker", "job"],
            cwd=ROOT,
            env=_worker_env(stack),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._readline() == "ready"
        self.runs: list[dict[str, Any]] = []

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        assert line, f"the job worker stopped (exit code {self._proc.poll()})"
        return line

    def run(self) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write("run\n")
        self._proc.stdin.flush()
        counts = json.loads(self._readline())
        assert "job_failed" not in counts, counts
        self.runs.append(counts)
        return counts

    def __enter__(self) -> _JobWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()


class _Receiver:
    """A registrant's endpoint on 127.0.0.1: answers 200 to each push and
    keeps it (Event-Id, body, whether the signature holds), in arrival order."""

    def __init__(self) -> None:
        self.secret = ""
        self.pushes: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = verify(receiver.secret, self.headers.get("X-Signature", ""), raw, time.time())
                with receiver._lock:
                    receiver.pushes.append((self.headers["Event-Id"], json.loads(raw), ok))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/sales-office"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def all(self) -> list[tuple[str, dict[str, Any], bool]]:
        with self._lock:
            return list(self.pushes)

    def sent(self) -> Counter[str]:
        with self._lock:
            return Counter(event_id for event_id, _, _ in self.pushes)

    def first_seen(self) -> list[str]:
        """What the receiver keeps after dropping a repeated Event-Id."""
        seen: dict[str, None] = {}
        with self._lock:
            for event_id, _, _ in self.pushes:
                seen.setdefault(event_id)
        return list(seen)

    def __enter__(self) -> _Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pushed_registrant(stack: LocalStack, receiver: _Receiver) -> dict[str, Any]:
    """Over HTTP: Party A issues a channel and sets its endpoint to the
    receiver (the local stage allows loopback); the channel registers
    customers, each an event or more in its feed."""
    admin = _token(stack, "party_a_admin")
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    ask = encode({"kind": "channel", "name": "推送渠道"})
    status, issued = _call(connection, "POST", "/v1/registrants", ask, admin)
    assert status == 201, issued
    who = _as_registrant(issued)
    receiver.secret = who.secret
    path = f"/v1/registrants/{who.registrant_id}/endpoint"
    status, endpoint = _call(connection, "PUT", path, encode({"url": receiver.url}), admin)
    assert status == 200 and endpoint["status"] == "active", endpoint
    for n in range(PUSHED_REGISTRATIONS):
        visit = datetime.now(UTC).replace(microsecond=0).isoformat()
        raw = encode(body(f"1347702{n:04d}", visit))
        status, answer = _call(
            connection, "POST", "/v1/registrations", raw, signed_headers(who, raw)
        )
        assert status == 201, answer
    connection.close()
    return {"who": who, "recorded_by": time.time()}


def _feed(port: int, who: Any) -> list[dict[str, Any]]:
    """The registrant's feed, oldest first (GET /v1/events, signed, all pages)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "/v1/events?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = _call(connection, "GET", path, b"", signed_headers(who, b"", key=None))
        assert status == 200, page
        events += page["data"]
        if not page["data"]:
            connection.close()
            return events
        cursor = page["next_cursor"]


def _delivery_log(port: int, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    log: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_path = f"{path}?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = _call(connection, "GET", page_path, b"", headers)
        assert status == 200, page
        log += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            connection.close()
            return log


def _next_tick(stack: LocalStack, after: float) -> float:
    """The first run of the stack's delivery job at or after ``after`` (epoch
    seconds): a rate counts from the run before, so its ticks are those the
    scheduler printed, a minute apart (printed to the second: +1 s)."""
    printed = re.findall(
        r"job delivery_retries: next at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", stack.output
    )
    assert printed, stack.output
    tick = datetime.fromisoformat(printed[-1]).replace(tzinfo=UTC).timestamp() + 1
    while tick < after:
        tick += 60
    return tick


def replays_raced_over_http(
    stack: LocalStack, receiver: _Receiver, worker: _JobWorker, pushed: dict[str, Any]
) -> None:
    settled = pushed["recorded_by"] + 31  # EVENT_SETTLE_SECONDS: then the feed is whole
    time.sleep(max(0.0, settled - time.time()))
    race = _ReplayRace(stack, receiver, worker, pushed["who"])
    # round 0: replays of every event from a second before the stack's job
    # ticks (it makes the deliveries and sends them) to four seconds after
    tick = _next_tick(stack, max(settled + 2, time.time() + 2))
    time.sleep(max(0.0, tick - 1 - time.time()))
    statuses = race.around(tick + 4)
    before = race.consistent(race.drained())
    print(f"pushes: at the stack's tick, replays answered {dict(statuses)}")
    # rounds 1..: each replayer replays every event (each from another one)
    # while the job runs once more, released together
    for round_ in range(REPLAY_ROUNDS):
        after = race.round(round_)
        for event_id in race.order:  # replayed while delivered: sent again, at most once a replay
            assert 1 <= after[event_id] - before[event_id] <= REPLAYERS, (round_, before, after)
        before = after
    mine = _delivery_log(stack.port, "/v1/deliveries", signed_headers(race.who, b"", key=None))
    assert mine == _delivery_log(stack.port, race.log_path, race.admin)  # the same log
    print(
        f"pushes: {len(race.order)} events, sent {sum(before.values())} times in all"
        f" ({sorted(before.values())}), {sum(race.accepted.values())} replays accepted"
    )


class _ReplayRace:
    """Party A's replays of a registrant's deliveries over HTTP, the job's
    runs, and what the receiver and the delivery log say after them."""

    def __init__(self, stack: LocalStack, receiver: _Receiver, worker: _JobWorker, who: Any):
        self.port, self.who, self.receiver, self.worker = stack.port, who, receiver, worker
        self.admin = _token(stack, "party_a_admin")
        self.feed = _feed(stack.port, who)
        self.order = [e["id"] for e in self.feed]
        assert len(self.order) >= PUSHED_REGISTRATIONS, self.feed
        self.log_path = f"/v1/registrants/{who.registrant_id}/deliveries"
        self.accepted: Counter[str] = Counter()  # 202s: each lets one more send happen
        self._counting = threading.Lock()

    def replay(self, connection: http.client.HTTPConnection, event_id: str) -> int:
        path = f"{self.log_path}/{event_id}/replay"
        status, answer = _call(connection, "POST", path, b"{}", self.admin)
        assert status in (202, 404, 503), (status, answer)
        if status != 202:  # not made yet; or it kept changing under the replay (documented)
            assert _code(answer) == {404: "NOT_FOUND", 503: "UNAVAILABLE"}[status], answer
            return status
        assert answer["id"] == event_id, answer
        with self._counting:
            self.accepted[event_id] += 1
        return status

    def around(self, until: float) -> Counter[int]:
        """Each replayer replays every event, again and again, until ``until``."""
        statuses: Counter[int] = Counter()

        def replayer(i: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                while time.time() < until:
                    for event_id in self.order[i:] + self.order[:i]:
                        status = self.replay(connection, event_id)
                        with self._counting:
                            statuses[status] += 1
                    time.sleep(0.3)
            finally:
                connection.close()

        threads = [threading.Thread(target=replayer, args=(i,)) for i in range(REPLAYERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return statuses

    def round(self, round_: int) -> Counter[str]:
        """Every replayer and a run of the job released together; then drained."""

        def replayer(first: int) -> Any:
            turn = self.order[first:] + self.order[:first]
            return lambda _: lambda connection: [self.replay(connection, e) for e in turn]

        racers = [replayer((i + round_) % len(self.order)) for i in range(REPLAYERS)]
        job = lambda _: lambda _: self.worker.run()  # noqa: E731
        (got,) = _race_over_http(self.port, [*racers, job], 1)
        statuses = [s for answers in got[:-1] for s in answers]
        assert set(statuses) <= {202, 503} and statuses.count(202) >= len(self.order), got
        return self.consistent(self.drained())

    def drained(self) -> list[dict[str, Any]]:
        """The job run again until the log over HTTP has nothing pending."""
        for _ in range(20):
            log = _delivery_log(self.port, self.log_path, self.admin)
            if len(log) == len(self.order) and all(d["status"] == "delivered" for d in log):
                return log
            self.worker.run()
        raise AssertionError(f"deliveries never all delivered: {log}")

    def consistent(self, log: list[dict[str, Any]]) -> Counter[str]:
        """The receiver has each event once in feed order after dropping
        repeats; every push was signed and is the event as the feed lists it;
        the log has one attempt per push, each answered 200; no event was sent
        more than once plus once per replay accepted. Returns pushes per event."""
        sent = self.receiver.sent()
        assert self.receiver.first_seen() == self.order, "not each event once in feed order"
        assert [d["id"] for d in log] == self.order[::-1]  # the log: newest first
        by_id = {e["id"]: e for e in self.feed}
        for delivery in log:
            event_id = delivery["id"]
            assert delivery["event"] == by_id[event_id]
            assert delivery["attempts"] == sent[event_id], (delivery, sent)
            assert delivery["next_attempt_at"] is None and delivery["reason"] is None
            assert len(delivery["log"]) == min(sent[event_id], 20)
            assert {a["status_code"] for a in delivery["log"]} == {200}
            assert 1 <= sent[event_id] <= 1 + self.accepted[event_id], (sent, self.accepted)
        for event_id, doc, signed in self.receiver.all():
            assert signed, f"a push of {event_id} not signed with the registrant's secret"
            assert doc == by_id[event_id]
        return sent
