"""Where profiled time goes, by package: shared by the benchmarks that
profile (warm.py, burst.py)."""

from __future__ import annotations

import pstats
import sysconfig
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def package_of(filename: str) -> str:
    """The package a profiled function belongs to: chalicelib.<sub>, app, a
    third-party distribution, a stdlib module, or builtins (C functions)."""
    if filename == "~" or filename.startswith("<"):
        return "builtins / C"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        try:
            return f"stdlib {path.relative_to(STDLIB).parts[0].removesuffix('.py')}"
        except ValueError:
            return filename
    if relative.parts[0] == "chalicelib" and len(relative.parts) > 2:
        return f"chalicelib.{relative.parts[1]}"
    return ".".join(relative.with_suffix("").parts)


def self_time_by_package(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """Own time (ms per request, under the profiler) summed by package; a C
    function's time counts for the package of whoever called it (hashing for
    botocore's signatures is botocore's), C called from C stays builtins."""
    totals: dict[str, float] = defaultdict(float)
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, own, _, callers) in entries:
        if package_of(filename) != "builtins / C" or not callers:
            totals[package_of(filename)] += own * 1e3 / requests
            continue
        for (caller_file, _, _), edge in callers.items():
            totals[package_of(caller_file)] += edge[2] * 1e3 / requests
    return dict(totals)


def own_time_by_function(stats: pstats.Stats, requests: int) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[f"{package_of(filename)}:{name}"] += own * 1e3 / requests
    return dict(totals)
