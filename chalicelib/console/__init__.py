"""The sales-office console: static files the app serves as they are.

The console is a page and a script that call the same API as curl does, with
the staff member's bearer token; it holds no privilege of its own. No build
step and no Node.js: the files in static/ are what the browser gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"

# the only files served; anything else under /console is 404
TYPES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    # the managers' 看板, and the charting library it draws with (Chart.js 4,
    # MIT, vendored as published: no CDN)
    "dashboard.js": "text/javascript; charset=utf-8",
    "chart.umd.js": "text/javascript; charset=utf-8",
    "deliveries.js": "text/javascript; charset=utf-8",  # 事件推送 (decision 0010)
    "appeals.js": "text/javascript; charset=utf-8",  # 申诉 (decision 0012)
}

# the page runs only its own script and style, talks only to its own origin,
# and cannot be framed (the token lives in the tab's sessionStorage)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str


@cache
def asset(name: str) -> Asset | None:
    """The named file of the console, or None when it is not one of ours."""
    content_type = TYPES.get(name)
    if content_type is None:
        return None
    return Asset((STATIC / name).read_text(encoding="utf-8"), content_type)
