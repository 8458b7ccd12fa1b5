"""Operator commands against a stage's tables.

    .venv/bin/python scripts/admin.py create-tables
    .venv/bin/python scripts/admin.py create-registrant --kind channel --name "渠道甲"
    .venv/bin/python scripts/admin.py disable-registrant reg_...

The stage comes from the environment: STAGE / TABLE_PREFIX / AWS_REGION and,
for the embedded store of `make run`, DYNAMODB_ENDPOINT (see README).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.errors import Failed
from chalicelib.rules.claims import Source
from chalicelib.services.registrants import KINDS, create_registrant, set_enabled
from chalicelib.store import create_tables, store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-tables", help="create the stage's tables where missing")
    create = commands.add_parser("create-registrant", help="issue a registrant and its secret")
    create.add_argument("--kind", required=True, choices=[k.value for k in KINDS])
    create.add_argument("--name", required=True)
    for verb in ("disable", "enable"):
        cmd = commands.add_parser(f"{verb}-registrant", help=f"{verb} a registrant")
        cmd.add_argument("registrant_id")
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    try:
        if args.command == "create-tables":
            create_tables()
            print("tables ready")
        elif args.command == "create-registrant":
            r = create_registrant(store(), Source(args.kind), args.name, now)
            print(
                json.dumps(
                    {
                        "id": r.registrant_id,
                        "kind": r.kind.value,
                        "name": r.name,
                        "secret": r.secret,
                    },
                    ensure_ascii=False,
                )
            )
            print("The secret is shown once: hand it to the registrant now.", file=sys.stderr)
        else:
            enabled = args.command == "enable-registrant"
            r = set_enabled(store(), args.registrant_id, enabled)
            print(f"{r.registrant_id} {'enabled' if r.enabled else 'disabled'}")
    except Failed as failed:
        print(f"error: {failed.problem.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
