"""A helper process for the races on `make run`'s stack
(tests/test_admin_and_local_run.py): it works on the running stack's store
(the ``dynamodb_endpoint`` of ``DEMO_FILE``), as scripts/appeal_demo.py does.

    python -m tests.local_stack_worker past PHONE...
        scripts/appeal_demo.py for each phone: the first demo channel
        recommended it 70 days ago and its protection has ended (a past the
        API cannot make in less than 60 days, R-DUP-1).
    python -m tests.local_stack_worker job
        prints ``ready``, then for each line read on stdin runs the
        ``delivery_retries`` job once, through its handler as the stack's
        scheduler invokes it (scripts/local_schedule.py), and prints its
        counts as one JSON line: a second invocation of the minute's job, as
        EventBridge may make one, racing the stack's own.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def past(phones: list[str]) -> int:
    from scripts.appeal_demo import main

    return max((main(phone) for phone in phones), default=0)


def job() -> int:
    from scripts.run_local import DEMO_FILE, local_stage_env

    demo = json.loads(DEMO_FILE.read_text())
    os.environ.update(local_stage_env())
    os.environ["DYNAMODB_ENDPOINT"] = demo["dynamodb_endpoint"]
    import app
    from chalicelib.store import store
    from scripts.local_schedule import Scheduler, declared_jobs

    said: list[str] = []
    scheduler = Scheduler(declared_jobs(app.app), region="cn-north-1", say=said.append)
    retries = next(j for j in scheduler.jobs if j.name == "delivery_retries")
    from chalicelib.services.delivery.service import deliveries

    deliveries()
    store().list_endpoints()  # connected before the first race: it starts at once
    print("ready", flush=True)
    for _ in sys.stdin:
        said.clear()
        result = scheduler.run(retries, datetime.now(UTC), "raced by a test")
        print(json.dumps(result if result is not None else {"job_failed": said}), flush=True)
    return 0


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    sys.exit(past(rest) if command == "past" else job())
