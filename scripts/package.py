"""`make package STAGE=prod`: a deployable CloudFormation (SAM) template and
the deployment zip, in build/<stage>/.

    .venv/bin/python scripts/package.py --stage prod [--out build/prod]

Writes build/<stage>/merge-template.json (the tables, queue and alarms of
infra/template.py), then runs `chalice package --merge-template` into the
same folder: sam.json and deployment.zip. Offline, point pip at a wheel
folder first (docs/deploy.md): PIP_NO_INDEX=1 PIP_FIND_LINKS=wheels/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.template import merge_template  # noqa: E402

# what only the local stage may carry; a packaged template never does
LOCAL_ONLY = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", 'PHONE_HMAC_KEY"', "local-fake")


def missing_wheels(requirements: Path, folders: list[Path]) -> list[str]:
    """The pinned requirements with no wheel in any of ``folders``."""
    have = {w.name.lower() for folder in folders for w in folder.glob("*.whl")}
    missing = []
    for line in requirements.read_text().splitlines():
        pin = line.split("#")[0].strip()
        if "==" not in pin:
            continue
        name, version = (part.strip() for part in pin.split("=="))
        stem = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"
        if not any(w.startswith(stem) for w in have):
            missing.append(pin)
    return missing


def package(stage: str, out: Path) -> Path:
    if stage == "local":
        raise SystemExit("the local stage is never packaged: its credentials are fakes")
    links = os.environ.get("PIP_FIND_LINKS")
    if os.environ.get("PIP_NO_INDEX") and links:  # offline: say what is missing, plainly
        folders = [Path(p) for p in links.split()]
        missing = missing_wheels(ROOT / "requirements.txt", folders)
        if missing:
            raise SystemExit(f"{links} lacks {', '.join(missing)}: run `make wheels` again")
    out.mkdir(parents=True, exist_ok=True)
    merge = out / "merge-template.json"
    merge.write_text(json.dumps(merge_template(stage), indent=2) + "\n")
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "cn-north-1")}
    subprocess.run(
        [
            str(chalice),
            "package",
            "--stage",
            stage,
            "--pkg-format",
            "cloudformation",
            "--template-format",
            "json",
            "--merge-template",
            str(merge),
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    template = out / "sam.json"
    text = template.read_text()
    leaked = [marker for marker in LOCAL_ONLY if marker in text]
    if leaked:
        raise SystemExit(f"{template} carries local-only settings: {leaked}")
    return template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    template = package(args.stage, args.out or ROOT / "build" / args.stage)
    print(f"{template} and {template.with_name('deployment.zip')} are ready")


if __name__ == "__main__":
    main()
