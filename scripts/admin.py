"""Operator commands against a stage's tables.

    .venv/bin/python scripts/admin.py create-tables
    .venv/bin/python scripts/admin.py note-customers-on-masks   # once, after deploying 隐号报备
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
    .venv/bin/python scripts/admin.py job-runs sweep | reclaim
    .venv/bin/python scripts/admin.py daily-report [--date 2026-12-01]    # CSV into .local/
    .venv/bin/python scripts/admin.py fines-statement --payer stf_... [--month 2026-12]

Secrets and tokens are printed once. A staff token is stored only as a hash.
A registrant's signing secret must stay readable (every request's HMAC is
checked with it): a deployed stage stores it encrypted with the stage's KMS
key (REGISTRANT_SECRETS_KEY_ID; docs/deploy.md), the local stage as it is.
The stage comes from the environment: STAGE / TABLE_PREFIX / AWS_REGION and,
for the embedded store of `make run`, DYNAMODB_ENDPOINT (see README).

Times are printed as the API gives them: ISO 8601 in the project's zone
(Asia/Shanghai, ``2026-12-07T10:00:00+08:00``); a time given without an
offset (``--expires-at``) is read in that zone too. CSV files (UTF-8 with a
byte-order mark, for Excel) go under .local/ unless ``--out`` says where.
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
from chalicelib.services.floor.daily_report import as_csv
from chalicelib.services.people import brokers, registrants, staff
from chalicelib.services.registration.resolution import note_customers_on_masks
from chalicelib.services.views import local_iso
from chalicelib.settings import SettingsError, settings
from chalicelib.store import create_tables, store

# where the CSV files go unless --out says otherwise (ignored by git, with
# make run's data): never the repository's root
CSV_DIR = Path(__file__).resolve().parent.parent / ".local"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="admin", description="Operator commands.")
    commands = p.add_subparsers(dest="command", required=True)
    commands.add_parser("create-tables", help="create the stage's tables where missing")
    commands.add_parser(
        "note-customers-on-masks",
        help="once after deploying masked registration: note stored customers on their masks",
    )
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
    certify.add_argument(
        "--expires-at", help="ISO 8601, e.g. 2027-06-30T18:00 (Shanghai time unless an offset)"
    )
    commands.add_parser("list-brokers", help="every broker and whether certified now")
    unbroker = commands.add_parser("revoke-broker", help="revoke a broker's certification")
    unbroker.add_argument("broker_id")
    for job in ("sweep", "reclaim", "duplicate-watch"):
        commands.add_parser(f"run-{job}", help=f"run the {job} job now (safe to repeat)")
    runs = commands.add_parser("job-runs", help="a job's latest runs: start, end, counts")
    runs.add_argument("job", choices=["sweep", "reclaim"])
    report = commands.add_parser(
        "daily-report", help="the day's channel report (R-REG-2) as CSV, into .local/"
    )
    report.add_argument("--date", help="the local day, YYYY-MM-DD (default: today)")
    report.add_argument("--out", type=Path, help="the CSV file (default: under .local/)")
    statement = commands.add_parser(
        "fines-statement", help="a payer's monthly fines statement as CSV, into .local/"
    )
    statement.add_argument("--payer", required=True, help="a staff (stf_…) or registrant id")
    statement.add_argument("--month", help="the local month, YYYY-MM (default: this month)")
    statement.add_argument("--out", type=Path, help="the CSV file (default: under .local/)")
    return p


def shanghai(at: datetime | None) -> str | None:
    """An instant as the API writes it: ISO 8601 in the project's zone."""
    return local_iso(at, settings().policy.zone)


def instant(text: str) -> datetime:
    """ISO 8601; without an offset, a wall-clock time in the project's zone."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=settings().policy.zone)


def write_csv(text: str, out: Path | None, name: str) -> Path:
    path = out if out is not None else CSV_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


def run(args: argparse.Namespace, now: datetime) -> Any:  # noqa: PLR0911, PLR0912, C901
    command = args.command
    if command == "create-tables":
        create_tables()
        return "tables ready"
    if command == "note-customers-on-masks":
        return {"noted": note_customers_on_masks(store(), settings())}
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
            "previous_secret_valid_until": shanghai(r.previous_secret_until),
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
        expires = instant(args.expires_at) if args.expires_at else None
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
                "started_at": shanghai(r["started_at"]),
                "finished_at": shanghai(r["finished_at"]),
                "counts": r["counts"],
            }
            for r in store().runs(args.job)
        ]
    if command == "daily-report":
        query = {"date": args.date or now.astimezone(settings().policy.zone).date().isoformat()}
        report = container.daily_report().build(query, now)
        path = write_csv(as_csv(report), args.out, f"channel-report-{report['date']}.csv")
        return {"csv": str(path), "date": report["date"], "totals": report["totals"]}
    if command == "fines-statement":
        query = {"month": args.month} if args.month else {}
        doc = container.fines().statement(args.payer, query, now)
        name = f"fines-{doc['payer_id']}-{doc['month']}.csv"
        path = write_csv(container.fines().statement_csv(doc), args.out, name)
        return {
            "csv": str(path),
            "month": doc["month"],
            "fines": len(doc["fines"]),
            "total_due": doc["total_due"],
        }
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
        "certified_at": shanghai(b.certified_at),
        "expires_at": shanghai(b.expires_at),
        "revoked_at": shanghai(b.revoked_at),
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
        problem = failed.problem
        fields = "; ".join(f"{f.field}: {f.message}" for f in problem.fields)
        print(f"error: {problem.message}" + (f" ({fields})" if fields else ""), file=sys.stderr)
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
