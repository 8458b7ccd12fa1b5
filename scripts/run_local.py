"""`make run`: the embedded DynamoDB, the tables, a demo project, and the API.

Starts moto's server on 127.0.0.1 (a free port), creates the tables, seeds two
channels, one distribution agency and one e-commerce unit, one staff member
per role (two consultants, on today's duty roster) and two certified brokers,
writes their ids, secrets and tokens to .local/demo.json, and serves the API with `chalice local` on
127.0.0.1:8000. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
API_PORT = int(os.environ.get("PORT", "8000"))
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


def start_embedded_dynamodb() -> tuple[object, str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def seed(base_url: str) -> dict[str, object]:
    from chalicelib.rules.claims import Source
    from chalicelib.rules.staff import Role
    from chalicelib.services.brokers import certify
    from chalicelib.services.container import rotation
    from chalicelib.services.registrants import create_registrant
    from chalicelib.services.staff import create_staff, issue_token
    from chalicelib.settings import settings
    from chalicelib.store import create_tables, store

    create_tables()
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
    return {
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


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    env = local_stage_env()
    os.environ.update(env)
    server, endpoint = start_embedded_dynamodb()
    os.environ["DYNAMODB_ENDPOINT"] = endpoint
    base_url = f"http://{HOST}:{API_PORT}"
    demo = seed(base_url)
    out = Path(os.environ.get("DEMO_FILE", ROOT / ".local" / "demo.json"))
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(demo, ensure_ascii=False, indent=2) + "\n")
    print(f"embedded DynamoDB (moto) at {endpoint}; demo project written to {out}:")
    for r in demo["registrants"]:  # type: ignore[union-attr]
        print(f"  {r['kind']:<12} {r['id']}  secret {r['secret']}  ({r['name']})")
    for p in demo["staff"]:  # type: ignore[union-attr]
        print(f"  {p['role']:<17} {p['id']}  token {p['token']}  ({p['name']})")
    print(f"serving the API on {base_url} (Ctrl-C stops everything)")
    print(
        f"the console (工作台): open {base_url}/console and sign in with a token above", flush=True
    )
    chalice = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chalice"),
            "local",
            "--no-autoreload",
            "--stage",
            "local",
            "--host",
            HOST,
            "--port",
            str(API_PORT),
        ],
        cwd=ROOT,
        env={**os.environ, "DYNAMODB_ENDPOINT": endpoint},
    )
    try:
        return chalice.wait()
    except KeyboardInterrupt:
        chalice.send_signal(signal.SIGINT)
        try:
            chalice.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chalice.kill()
        return 0
    finally:
        server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
