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
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.template import merge_template  # noqa: E402

# what only the local stage may carry; a packaged template never does
LOCAL_ONLY = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", 'PHONE_HMAC_KEY"', "local-fake")


def package(stage: str, out: Path) -> Path:
    if stage == "local":
        raise SystemExit("the local stage is never packaged: its credentials are fakes")
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
