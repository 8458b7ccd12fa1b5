"""The operator's commands and `make run`'s local stack, as a newcomer uses them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from scripts import admin
from tests.conftest import payload
from tests.support import body

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
    assert run["started_at"] == "2027-01-19T02:00:00+00:00"
    assert run["counts"]["ending_soon"] == 1
    assert admin.main(["run-reclaim"]) == 0
    capsys.readouterr()
    assert admin.main(["run-duplicate-watch"]) == 0
    assert json.loads(capsys.readouterr().out) == {"outcomes": 0, "suspected": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_run_serves_the_demo_project_and_stops_cleanly(tmp_path):
    """`make run`: embedded store, seeded registrants in demo.json, signed 201 then 409."""
    port, demo_file = _free_port(), tmp_path / "demo.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "STAGE"))}
    env.update({"PORT": str(port), "DEMO_FILE": str(demo_file)})
    proc = subprocess.Popen(
        [sys.executable, "scripts/run_local.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "local stack did not come up"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/events", timeout=1)
            except urllib.error.HTTPError as answered:  # 401: the API is up
                assert answered.code == 401
                break
            except OSError:
                time.sleep(0.2)
        demo = json.loads(demo_file.read_text())
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
        assert queue == [p["id"] for p in demo["staff"] if p["role"] == "consultant"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0
