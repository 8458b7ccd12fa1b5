"""`make package STAGE=prod`: a deployable CloudFormation (SAM) template and
the deployment zip, in build/<stage>/.

    .venv/bin/python scripts/package.py --stage prod [--out build/prod]

Writes build/<stage>/merge-template.json (the tables, queue and alarms of
infra/template.py), then runs `chalice package --merge-template` into the
same folder: sam.json and deployment.zip. Offline, point pip at a wheel
folder first (docs/deploy.md): PIP_NO_INDEX=1 PIP_FIND_LINKS=wheels/.

Chalice's zip carries sources only and every service model of botocore. The
zip is then rewritten (``slim_zip``): botocore's and boto3's data of the
services no function makes a client for is left out (``kept_services``), the
kept models lose their documentation and endpoints.json the other services
(``lean_models``: what a cold start parses), boto3 and s3transfer (imported
by nothing the functions run) are left out, and
every module is compiled for the Lambda's Python (``compileall
--invalidation-mode unchecked-hash``: Lambda cannot write bytecode into
/var/task, and an unchecked pyc is used without looking at its source); the
libraries' modules then ship as that bytecode alone, without their sources
(``sourceless``, decision 0011), the app's and Chalice's with theirs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.template import merge_template  # noqa: E402

# what only the local stage may carry; a packaged template never does
LOCAL_ONLY = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", 'PHONE_HMAC_KEY"', "local-fake")

# The code the functions run, scanned for the AWS clients it makes.
APP_SOURCES = ("app.py", "chalicelib")
# Clients made by a library the app calls, told by how the app calls it; a
# client the app makes itself is found by its literal name (CLIENT_CALL).
LIBRARY_CLIENTS = {
    "dynamodb": re.compile(r"^\s*from pynamodb\b", re.M),  # every table (store/tables.py)
    # Powertools' parameters utility (SSM provider); settings.py reads the
    # phone-HMAC key with its own `create_client("ssm", ...)` instead
    "ssm": re.compile(r"\bparameters\.get_parameters?\("),
    # Powertools' Tracer: aws_xray_sdk's recorder makes an `xray` client (its
    # sampling-rules poller) when it is built, i.e. whenever tracing is on
    "xray": re.compile(r"\bimport Tracer\b|\baws_xray_sdk\b"),
}
CLIENT_CALL = re.compile(r"""\b(?:create_)?client\(\s*["']([a-z0-9-]+)["']""")
# botocore's own: its credential providers make an `sts` client for a role to
# assume (a profile's role_arn, AWS_ROLE_ARN with a web identity token). Not
# used by Lambda's environment credentials; kept so such a setup still works.
BOTOCORE_CLIENTS = frozenset({"sts"})
# bytecode Lambda uses as it is: it cannot write any into /var/task, and an
# unchecked pyc is loaded without reading or hashing its source
UNCHECKED = ("--invalidation-mode", "unchecked-hash")


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


def clients_in_code(root: Path = ROOT) -> set[str]:
    """The AWS services whose clients the functions' code makes."""
    found: set[str] = set()
    for source in APP_SOURCES:
        path = root / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            text = file.read_text()
            found.update(CLIENT_CALL.findall(text))
            found.update(s for s, used in LIBRARY_CLIENTS.items() if used.search(text))
    return found


def kept_services(root: Path = ROOT) -> frozenset[str]:
    """The service models the zip keeps (botocore/data/<service>/)."""
    return frozenset(clients_in_code(root) | BOTOCORE_CLIENTS)


# Packages the requirements pull in that no function imports: boto3 (the
# app makes its clients with botocore, decision 0008) and its s3transfer.
# tests/deploy/test_package.py runs the app from the zip without them.
NOT_IMPORTED = ("boto3", "s3transfer")
# Modules shipped with their sources: the app's own and Chalice's runtime,
# whose frames are the ones a traceback in the logs is read for. Every other
# module ships as bytecode alone (sourceless, docs/decisions/0011): a
# traceback through a library still names its file, line and function.
WITH_SOURCES = ("app.py", "chalicelib/", "chalice/")


def left_out(name: str, keep: frozenset[str]) -> bool:
    """A zip entry of a package no function imports, or of a service model
    nothing creates a client for. The files at the top of botocore/data
    (endpoints.json, partitions.json, sdk-default-configuration.json,
    _retry.json) serve every client."""
    parts = name.split("/")
    if parts[0] in NOT_IMPORTED or parts[0].startswith(tuple(f"{p}-" for p in NOT_IMPORTED)):
        return True
    return len(parts) > 3 and parts[0] == "botocore" and parts[1] == "data" and parts[2] not in keep


def sourceless(tree: Path) -> None:
    """Each module outside WITH_SOURCES as its bytecode alone: the pyc moved
    from __pycache__ to where the source was (where the import system looks
    for a sourceless module), the source removed."""
    tag = sys.implementation.cache_tag
    for source in sorted(tree.rglob("*.py")):
        if source.relative_to(tree).as_posix().startswith(WITH_SOURCES):
            continue
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        pyc.replace(source.with_suffix(".pyc"))
        source.unlink()
    for cache in sorted(tree.rglob("__pycache__"), reverse=True):
        if not any(cache.iterdir()):
            cache.rmdir()


def runtime_of(template: Path) -> str:
    """The functions' runtime (``python3.11``), one for all of them."""
    resources = json.loads(template.read_text())["Resources"].values()
    runtimes = {
        r["Properties"]["Runtime"] for r in resources if r["Type"] == "AWS::Serverless::Function"
    }
    (runtime,) = runtimes
    return str(runtime)


# in a kept service model, what only documentation reads (a docstring's text,
# a link); a client never loads it, but parses it with the model each time
DOC_KEYS = frozenset({"documentation", "documentationUrl"})


def _without_docs(value: Any) -> Any:
    if isinstance(value, dict):
        # a key of a shape's "members" is a member's name, whose value is a
        # dict: only a string under a documentation key is documentation
        return {
            k: _without_docs(v)
            for k, v in value.items()
            if not (k in DOC_KEYS and isinstance(v, str))
        }
    if isinstance(value, list):
        return [_without_docs(v) for v in value]
    return value


def lean_models(data: Path, keep: frozenset[str]) -> None:
    """botocore's data as a cold start reads it, for the kept services only:
    endpoints.json (1.2 MB for 300 services, parsed by every new session)
    keeps their entries, each service-2 model loses its documentation (about
    three quarters of it), and the examples (documentation too) go."""
    endpoints = data / "endpoints.json"
    doc = json.loads(endpoints.read_text())
    for partition in doc["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in keep}
    endpoints.write_text(json.dumps(doc, separators=(",", ":")))
    for model in data.glob("*/*/service-2.json*"):
        opened = gzip.open if model.suffix == ".gz" else open
        with opened(model, "rt", encoding="utf-8") as f:
            lean = json.dumps(_without_docs(json.load(f)), separators=(",", ":"))
        if model.suffix == ".gz":
            model.write_bytes(gzip.compress(lean.encode(), mtime=0))
        else:
            model.write_text(lean, encoding="utf-8")
    for examples in data.glob("*/*/examples-1.json"):
        examples.unlink()


def slim_zip(path: Path, keep: frozenset[str], runtime: str) -> None:
    """Rewrite the zip at ``path``: without the packages no function imports
    and the service models outside ``keep``; the app's and Chalice's modules
    with an unchecked-hash .pyc beside each .py (in __pycache__, where the
    import system looks for it), every other module as bytecode alone."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if here != runtime:  # bytecode is for one Python version only
        raise SystemExit(f"the functions run {runtime}: package with it, not {here}")
    with tempfile.TemporaryDirectory(prefix="package-") as work:
        tree = Path(work) / "tree"
        with zipfile.ZipFile(path) as original:
            infos = [i for i in original.infolist() if not left_out(i.filename, keep)]
            for info in infos:
                original.extract(info, tree)
        lean_models(tree / "botocore" / "data", keep)
        modes = {i.filename: i.external_attr for i in infos}
        # -I: no PYTHONPYCACHEPREFIX or other setting of this shell moves the
        # bytecode; -s/-p: the paths in it are Lambda's, not this machine's
        paths = ("-s", str(tree), "-p", "/var/task", str(tree))
        compiled = subprocess.run(
            [sys.executable, "-I", "-m", "compileall", "-q", "-j", "0", *UNCHECKED, *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode:
            raise SystemExit(f"compileall failed:\n{compiled.stdout}{compiled.stderr}")
        sourceless(tree)
        # a new file, then renamed: never written through a link to chalice's cache
        rewritten = path.with_suffix(".zip.new")
        with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as slim:
            for file in sorted(p for p in tree.rglob("*") if p.is_file()):
                name = file.relative_to(tree).as_posix()
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = modes.get(name, 0o100644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                slim.writestr(info, file.read_bytes(), compresslevel=9)
        rewritten.replace(path)


def package(stage: str, out: Path, *, slim: bool = True) -> Path:
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
    if slim:
        slim_zip(out / "deployment.zip", kept_services(), runtime_of(template))
    return template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    template = package(args.stage, args.out or ROOT / "build" / args.stage)
    zipped = template.with_name("deployment.zip")
    size = zipped.stat().st_size / 1e6
    print(f"service models kept: {', '.join(sorted(kept_services()))}")
    print(f"{template} and {zipped} ({size:.1f} MB, with bytecode) are ready")


if __name__ == "__main__":
    main()
