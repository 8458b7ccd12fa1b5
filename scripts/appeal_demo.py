"""With `make run` going: give one phone a past that makes an appeal possible
(README, "Appeals of a 判客 decision"): the first demo channel recommended
the customer 70 days ago and its 60-day protection has ended. The second
demo channel can then register the customer, the first bring them, the
channel assistant decide for the second, and the first appeal.

    .venv/bin/python scripts/appeal_demo.py 13833330001

A live system never holds two channels' claims at once (R-DUP-1), so this
past cannot be made through the API in less than 60 days; it is written to
the running stack's store as the registration would have written it then.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.run_local import DEMO_FILE, local_stage_env  # noqa: E402


def main(phone: str) -> int:
    demo = json.loads(DEMO_FILE.read_text())
    os.environ.update(local_stage_env())
    os.environ["DYNAMODB_ENDPOINT"] = demo["dynamodb_endpoint"]
    from chalicelib.rules.claims import Claim, Customer, Period, Source
    from chalicelib.rules.localtime import add_local_days
    from chalicelib.rules.phone import customer_key, normalize_phone
    from chalicelib.services.customers import Customers
    from chalicelib.services.ids import new_id
    from chalicelib.settings import settings
    from chalicelib.store import VersionConflict, store

    number = normalize_phone(phone)
    if number is None:
        print(f"{phone}: not a mainland mobile number", file=sys.stderr)
        return 2
    policy = settings().policy
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=70)
    first = Claim(
        new_id("rg", at),
        demo["registrants"][0]["id"],
        Source.CHANNEL,
        at,
        1,
        Period(at, add_local_days(at, policy.first_protection_days, policy.zone)),
    )
    key = customer_key(number, settings().phone_hmac_key)
    try:
        Customers(store(), policy).commit(key, number, Customer(claims=(first,)), at)
    except VersionConflict:
        print(f"{phone}: this customer is known already; pick another phone", file=sys.stderr)
        return 1
    print(f"{demo['registrants'][0]['name']} recommended {phone} on {at.date()}; it has ended")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "13833330001"))
