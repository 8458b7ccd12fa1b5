"""CSV downloads that open correctly in Excel with Chinese text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any


def excel_csv(titles: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """UTF-8 with a byte-order mark (Excel otherwise guesses a legacy code
    page), CRLF line ends, and every cell text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(titles)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def cell(value: Any) -> str:
    """Text Excel shows as text: a leading =, +, - or @ would start a formula
    (names and notes come from outside)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
