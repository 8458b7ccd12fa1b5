"""The deployment zip: its size, and `import app` from it against the same
tree with bytecode (``zip_import_ratio``, issue 15's goal ≤ 1.15).

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/package.py``).
See docs/benchmarks.md, "The deployment zip".

Packages the prod stage once (``scripts/package.py``: chalice package, then
the zip trimmed and compiled), keeping chalice's own zip for the figures
before. Three trees, each what Lambda would unpack into /var/task:

- ``zip``: the deployment zip as shipped (unchecked-hash bytecode);
- ``bytecode``: the same files, the shipped bytecode replaced by what Python
  writes itself (``compileall``, timestamp pycs): the reference;
- ``sources``: chalice's zip as it was, sources only; with ``-B`` each run
  compiles everything again, as Lambda did at every cold start.

Each run is a fresh interpreter with only that tree on ``sys.path`` (``-I -S
-B``), the prod functions' environment and fake credentials, timing ``import
app`` inside itself, in CPU time (``time.process_time``: user and system
time of that process) and wall time. One warm-up run each, then ``RUNS``
rounds, interleaved so that other load on the machine hits all alike: in
each round the zip and the bytecode tree run one right after the other
(their order alternating). ``zip_import_ratio`` is the median of the rounds'
CPU-time ratios: on a shared 2-core machine under load, wall time counts the
other processes too (docs/benchmarks.md: the paired wall ratio moved from
0.93 to 1.21 between runs, the CPU ratio stayed at 0.98); the wall figures
are printed beside it. Every figure is a median, never the fastest run. The
last line printed is one JSON object.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.package import kept_services, package, runtime_of, slim_zip  # noqa: E402

RUNS = 15
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
# the prod functions' environment (tracing on), with fake credentials and the
# key given directly: `import app` reads neither, but nothing may reach AWS
ENV = {
    **CONFIG["environment_variables"],
    **CONFIG["stages"]["prod"]["environment_variables"],
    "TABLE_PREFIX": "so-prod",
    "AWS_DEFAULT_REGION": "cn-north-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "PHONE_HMAC_KEY": "bench-phone-hmac-key-0123456789",
}
TIMED = (
    "import sys, time\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "start, cpu = time.perf_counter(), time.process_time()\n"
    "import app\n"
    "print((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000)\n"
)


def import_ms(tree: Path) -> tuple[float, float]:
    """Wall and CPU milliseconds of ``import app`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", TIMED, str(tree)],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = result.stdout.split()[-2:]
    return float(wall), float(cpu)


def unzip(path: Path, tree: Path) -> Path:
    with zipfile.ZipFile(path) as zipped:
        zipped.extractall(tree)
    return tree


def recompiled(tree: Path, into: Path) -> Path:
    """The same tree, with the bytecode Python writes itself (timestamps)."""
    shutil.copytree(tree, into, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-I", "-m", "compileall", "-q", "-j", "0", str(into)], check=True
    )
    return into


def files_and_mb(path: Path) -> tuple[int, float, float]:
    with zipfile.ZipFile(path) as zipped:
        infos = zipped.infolist()
    unpacked = sum(i.file_size for i in infos) / 1e6
    return len(infos), path.stat().st_size / 1e6, unpacked


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-package-") as work:
        base = Path(work)
        print("packaging prod (chalice package, ~15 s)...", flush=True)
        template = package("prod", base / "out", slim=False)
        chalice_zip = base / "chalice.zip"
        shutil.copy(template.with_name("deployment.zip"), chalice_zip)
        shipped = template.with_name("deployment.zip")
        slim_zip(shipped, kept_services(), runtime_of(template))

        files_before, mb_before, unpacked_before = files_and_mb(chalice_zip)
        files_after, mb_after, unpacked_after = files_and_mb(shipped)
        with zipfile.ZipFile(shipped) as zipped:
            names = zipped.namelist()
        sources = sum(n.endswith(".py") for n in names)
        pycs = sum(n.endswith(".pyc") for n in names)

        trees = {
            "zip": unzip(shipped, base / "zip"),
            "sources": unzip(chalice_zip, base / "sources"),
        }
        trees["bytecode"] = recompiled(trees["zip"], base / "bytecode")

        order = ["zip", "bytecode", "sources"]
        wall: dict[str, list[float]] = {name: [] for name in order}
        cpu: dict[str, list[float]] = {name: [] for name in order}
        for name in order:  # warm-up: file cache, nothing kept
            import_ms(trees[name])
        for round_ in range(RUNS):
            for name in order if round_ % 2 == 0 else order[::-1]:
                elapsed, spent = import_ms(trees[name])
                wall[name].append(elapsed)
                cpu[name].append(spent)

    def paired(times: dict[str, list[float]], name: str) -> float:
        """The median of the rounds' ratios of ``name`` to the bytecode tree."""
        return statistics.median(t / b for t, b in zip(times[name], times["bytecode"], strict=True))

    def median(times: dict[str, list[float]], name: str) -> float:
        return round(statistics.median(times[name]), 1)

    ratio = paired(cpu, "zip")
    print(
        f"zip: {mb_before:.1f} MB as chalice makes it ({files_before} files, "
        f"{unpacked_before:.1f} MB unpacked) -> {mb_after:.1f} MB shipped ({files_after} files, "
        f"{unpacked_after:.1f} MB unpacked; {sources} .py, {pycs} .pyc; service models: "
        f"{', '.join(sorted(kept_services()))})"
    )
    for name in order:
        print(
            f"import app from {name:<8}: CPU median {median(cpu, name):7.1f} ms, "
            f"wall median {median(wall, name):7.1f} ms "
            f"(wall runs: {' '.join(f'{v:.0f}' for v in wall[name])})"
        )
    print(
        f"zip_import_ratio (zip / bytecode tree, CPU, median of {RUNS} rounds): {ratio:.3f} "
        f"(goal <= 1.15); by wall time {paired(wall, 'zip'):.3f}"
    )
    result = {
        "zip_import_ratio": round(ratio, 3),
        "zip_mb": round(mb_after, 2),
        "zip_mb_before": round(mb_before, 2),
        "zip_import_ms": median(cpu, "zip"),
        "bytecode_tree_import_ms": median(cpu, "bytecode"),
        "sources_only_import_ms": median(cpu, "sources"),
        "sources_only_ratio": round(paired(cpu, "sources"), 3),
        "zip_import_wall_ratio": round(paired(wall, "zip"), 3),
        "zip_import_wall_ms": median(wall, "zip"),
        "bytecode_tree_import_wall_ms": median(wall, "bytecode"),
        "sources_only_import_wall_ms": median(wall, "sources"),
        "zip_files": files_after,
        "zip_files_before": files_before,
        "unzipped_mb": round(unpacked_after, 1),
        "unzipped_mb_before": round(unpacked_before, 1),
        "runs": RUNS,
    }
    print(json.dumps(result, separators=(", ", ": ")))


if __name__ == "__main__":
    main()
