"""The privacy scan: every log line a test causes is read for what must never
be logged (a full mainland mobile number, an ID-card number, a registrant
secret, a staff token). Masked forms (138****5678, last four) pass."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
FORBIDDEN = {
    "mobile number": re.compile(
        _EDGE_BEFORE + r"(?:\+?86[ -]?)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}" + _EDGE_AFTER
    ),
    "ID-card number": re.compile(_EDGE_BEFORE + r"[0-9]{17}[0-9Xx]" + _EDGE_AFTER),
    "registrant secret": re.compile(r"whsec_[A-Za-z0-9_\-]{16,}"),
    "staff token": re.compile(r"tok_[0-9A-Za-z]+\.[A-Za-z0-9_\-]{16,}"),
}


def leaks(text: str) -> list[str]:
    """What is forbidden in ``text``, by kind and the offending excerpt."""
    return [
        f"{kind}: …{text[max(0, m.start() - 30) : m.end() + 10]}…"
        for kind, pattern in FORBIDDEN.items()
        for m in pattern.finditer(text)
    ]


class _Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def every_log_line(app_logger: logging.Logger, formatter: logging.Formatter) -> Iterator[list[str]]:
    """The app's lines as they are written (its JSON, extra keys included),
    and any other library's, while the block runs."""
    ours, theirs = _Lines(formatter), _Lines(None)
    root = logging.getLogger()
    app_logger.addHandler(ours)
    root.addHandler(theirs)
    lines: list[str] = []
    try:
        yield lines
    finally:
        app_logger.removeHandler(ours)
        root.removeHandler(theirs)
        lines.extend(ours.lines + theirs.lines)
