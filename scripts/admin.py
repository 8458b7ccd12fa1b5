"""Operator commands against a stage's tables.

    .venv/bin/python scripts/admin.py create-tables
    .venv/bin/python scripts/admin.py create-registrant --kind channel --name "渠道甲"
    .venv/bin/python scripts/admin.py rotate-registrant-secret reg_...
    .venv/bin/python scripts/admin.py seal-registrant-secrets
    .venv/bin/python scripts/admin.py disable-registrant reg_...
    .venv/bin/python scripts/admin.py create-staff --role party_a_admin --name "甲方管理员"
    .venv/bin/python scripts/admin.py issue-token stf_...
    .venv/bin/python scripts/admin.py revoke-token tok_...
    .venv/bin/python scripts/admin.py certify-broker --name 李 --phone 139... --id-card 3701...
    .venv/bin/python scripts/admin.py list-brokers
    .venv/bin/python scripts/admin.py revoke-broker brk_...
    .venv/bin/python scripts/admin.py run-sweep | run-reclaim | run-duplicate-watch

Secrets and tokens are printed once. A staff token is stored only as a hash.
A registrant's signing secret must stay readable (every request's HMAC is
checked with it): a deployed stage stores it encrypted with the stage's KMS
key (REGISTRANT_SECRETS_KEY_ID; docs/deploy.md), the local stage as it is.
The stage comes from the environment: STAGE / TABLE_PREFIX / AWS_REGION and,
for the embedded store of `make run`, DYNAMODB_ENDPOINT (see README).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.errors import Failed
from chalicelib.rules.brokers import Broker
from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.services.people import brokers, registrants, staff
from chalicelib.settings import SettingsError, settings
from chalicelib.store import create_tables, store


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="admin", description="Operator commands.")
    commands = p.add_subparsers(dest="command", required=True)
    commands.add_parser("create-tables", help="create the stage's tables where missing")
    create = commands.add_parser("create-registrant", help="issue a registrant and its secret")
    create.add_argument("--kind", required=True, choices=[k.value for k in registrants.KINDS])
    create.add_argument("--name", required=True)
    for verb in ("disable", "enable"):
        cmd = commands.add_parser(f"{verb}-registrant", help=f"{verb} a registrant")
        cmd.add_argument("registrant_id")
    rotate = commands.add_parser(
        "rotate-registrant-secret", help="new secret; the old one works 24 h more"
    )
    rotate.add_argument("registrant_id")
    rotate.add_argument(
        "--at-once", action="store_true", help="the old secret stops now (it leaked)"
    )
    commands.add_parser(
        "seal-registrant-secrets",
        help="encrypt with the stage's KMS key the secrets stored before it had one",
    )
    person = commands.add_parser("create-staff", help="a staff member and a first token")
    person.add_argument("--role", required=True, choices=[r.value for r in Role])
    person.add_argument("--name", required=True)
    commands.add_parser("list-staff", help="every staff member, role and state")
    for verb in ("disable", "enable"):
        cmd = commands.add_parser(f"{verb}-staff", help=f"{verb} a staff member")
        cmd.add_argument("staff_id")
    issue = commands.add_parser("issue-token", help="a new bearer token for a staff member")
    issue.add_argument("staff_id")
    revoke = commands.add_parser("revoke-token", help="revoke a bearer token by its id")
    revoke.add_argument("token_id")
    certify = commands.add_parser("certify-broker", help="certify a crowd broker (R-REG-4)")
    certify.add_argument("--name", required=True)
    certify.add_argument("--phone", required=True)
    certify.add_argument("--id-card", required=True)
    certify.add_argument("--expires-at", help="ISO 8601 with an offset (optional)")
    commands.add_parser("list-brokers", help="every broker and whether certified now")
    unbroker = commands.add_parser("revoke-broker", help="revoke a broker's certification")
    unbroker.add_argument("broker_id")
    for job in ("sweep", "reclaim", "duplicate-watch"):
        commands.add_parser(f"run-{job}", help=f"run the {job} job now (safe to repeat)")
    runs = commands.add_parser("job-runs", help="a job's latest runs: start, end, counts")
    runs.add_argument("job", choices=["sweep", "reclaim"])
    return p


def run(args: argparse.Namespace, now: datetime) -> Any:  # noqa: PLR0911, PLR0912, C901
    command = args.command
    if command == "create-tables":
        create_tables()
        return "tables ready"
    if command == "create-registrant":
        r = registrants.create_registrant(store(), Source(args.kind), args.name, now)
        return {"id": r.registrant_id, "kind": r.kind.value, "name": r.name, "secret": r.secret}
    if command in ("disable-registrant", "enable-registrant"):
        r = registrants.set_enabled(store(), args.registrant_id, command.startswith("enable"), now)
        return f"{r.registrant_id} {'enabled' if r.enabled else 'disabled'}"
    if command == "rotate-registrant-secret":
        overlap = timedelta(0) if args.at_once else registrants.ROTATION_OVERLAP
        r = registrants.rotate_secret(store(), args.registrant_id, now, overlap=overlap)
        return {
            "id": r.registrant_id,
            "secret": r.secret,
            "previous_secret_valid_until": r.previous_secret_until.isoformat()
            if r.previous_secret_until
            else None,
        }
    if command == "seal-registrant-secrets":
        return {"sealed": store().seal_registrant_secrets()}
    if command == "create-staff":
        s = staff.create_staff(store(), args.name, Role(args.role), now)
        token = staff.issue_token(store(), s.staff_id, now)
        return {"id": s.staff_id, "name": s.name, "role": s.role.value, "token": token.token}
    if command == "list-staff":
        return [
            {"id": s.staff_id, "name": s.name, "role": s.role.value, "enabled": s.enabled}
            for s in store().list_staff()
        ]
    if command in ("disable-staff", "enable-staff"):
        staff.set_staff_enabled(store(), args.staff_id, command.startswith("enable"), now)
        return f"{args.staff_id} {command.split('-')[0]}d"
    if command == "certify-broker":
        expires = datetime.fromisoformat(args.expires_at) if args.expires_at else None
        b = brokers.certify(
            store(),
            settings().phone_hmac_key,
            name=args.name,
            phone=args.phone,
            id_card=args.id_card,
            now=now,
            expires_at=expires,
        )
        return broker_json(b, now)
    if command == "list-brokers":
        return [broker_json(b, now) for b in store().list_brokers()]
    if command == "revoke-broker":
        return broker_json(brokers.revoke(store(), args.broker_id, now), now)
    if command == "run-duplicate-watch":
        return container.duplicate_watch().run(now)
    if command in ("run-sweep", "run-reclaim"):
        job = container.sweep() if command == "run-sweep" else container.reclaim()
        return job.run(now)
    if command == "job-runs":
        return [
            {
                "started_at": r["started_at"].isoformat(),
                "finished_at": r["finished_at"].isoformat() if r["finished_at"] else None,
                "counts": r["counts"],
            }
            for r in store().runs(args.job)
        ]
    if command == "issue-token":
        token = staff.issue_token(store(), args.staff_id, now)
        return {"token_id": token.token_id, "token": token.token}
    staff.revoke_token(store(), args.token_id, now)
    return f"{args.token_id} revoked"


def broker_json(b: Broker, now: datetime) -> dict[str, Any]:
    return {
        "id": b.broker_id,
        "name": b.name,
        "phone_masked": b.phone_masked,
        "id_card_last4": b.id_card_last4,
        "certified_at": b.certified_at.isoformat(),
        "expires_at": b.expires_at.isoformat() if b.expires_at else None,
        "revoked_at": b.revoked_at.isoformat() if b.revoked_at else None,
        "certified_now": b.certified(now),
    }


def kept(shown: dict[str, Any]) -> str:
    """What the store keeps of what was just shown: true for each kind."""
    if "token" in shown:
        return "The store keeps only a hash of the token."
    if settings().registrant_secrets_key:
        return "The store keeps the secret encrypted with the stage's KMS key (to verify HMACs)."
    return "The store keeps the secret unencrypted (this stage has no KMS key) to verify HMACs."


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = run(args, datetime.now(UTC))
    except Failed as failed:
        print(f"error: {failed.problem.message}", file=sys.stderr)
        return 1
    except SettingsError as wrong:
        print(f"error: {wrong}", file=sys.stderr)
        return 1
    print(result if isinstance(result, str) else json.dumps(result, ensure_ascii=False))
    if isinstance(result, dict) and ("secret" in result or "token" in result):
        print(f"Shown once: hand it over now. {kept(result)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
