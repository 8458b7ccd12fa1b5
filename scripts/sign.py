"""Send a signed request as one of the demo registrants (or any registrant).

    .venv/bin/python scripts/sign.py POST /v1/registrations \\
        '{"customer":{"name":"王先生","phone":"138 1234 5678"},"visit_at":"now"}'
    .venv/bin/python scripts/sign.py GET /v1/registrations --as 1
    .venv/bin/python scripts/sign.py GET /v1/events --curl     # print the curl command instead

`--as N` picks the N-th registrant of .local/demo.json (default 0); or pass
--id and --secret. In a body, "visit_at":"now" becomes the current Shanghai time.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.signing import signature_header  # noqa: E402


def with_visit_now(text: str) -> str:
    """A body whose visit_at is "now" gets the current Shanghai time."""
    if '"now"' not in text:
        return text
    doc = json.loads(text)
    if doc.get("visit_at") == "now":
        doc["visit_at"] = datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")
    return json.dumps(doc, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sign", description="Send a signed webhook request.")
    parser.add_argument("method", choices=["GET", "POST"])
    parser.add_argument("path")
    parser.add_argument("body", nargs="?", default="")
    parser.add_argument("--as", dest="index", type=int, default=0)
    parser.add_argument("--id")
    parser.add_argument("--secret")
    parser.add_argument("--key", help="Idempotency-Key (default: a new one)")
    parser.add_argument("--base-url")
    parser.add_argument("--curl", action="store_true", help="print a curl command instead")
    args = parser.parse_args(argv)

    demo_file = Path(os.environ.get("DEMO_FILE", ROOT / ".local" / "demo.json"))
    demo = json.loads(demo_file.read_text()) if not args.id else {}
    who = demo["registrants"][args.index] if demo else {"id": args.id, "secret": args.secret}
    base_url = args.base_url or demo.get("base_url", "http://127.0.0.1:8000")
    body = with_visit_now(args.body).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Registrant-Id": who["id"],
        "X-Signature": signature_header(who["secret"], timestamp, body),
    }
    if args.method == "POST":
        headers["Idempotency-Key"] = args.key or str(uuid.uuid4())
    url = base_url + args.path
    if args.curl:
        parts = ["curl", "-s", "-X", args.method, url]
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        if body:
            parts += ["--data-raw", body.decode()]
        print(shlex.join(parts))
        return 0
    request = urllib.request.Request(url, data=body or None, method=args.method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    print(status)
    print(json.dumps(json.loads(text), ensure_ascii=False, indent=2) if text else "")
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
