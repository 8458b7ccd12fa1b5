"""The scheduled work of `make run`, run as deployed.

`chalice local` serves HTTP routes only; EventBridge is what runs the
schedules of a deployed stage. Here a thread of scripts/run_local.py does
EventBridge's part: it reads the schedules the app declares
(``@jobs.schedule`` in chalicelib/api/jobs.py: their names,
``Rate``/``Cron`` expressions and handler objects), and calls each handler,
the very object Lambda calls, with a CloudWatch scheduled event and a Lambda
context when its expression says.

Each job also runs once at start-up. A local stack is off more often than
on (a laptop shut at night, a pilot machine restarted), so on a restart a
run is usually late: the hour's sweep has passed, or the 1st of the month
came while it was off. The jobs are built for that (each catches up from its
watermark, takes only what was due by now, and is safe to repeat), which is
what a late EventBridge run or a retry does too; waiting up to an hour, or
to the next month's reclaim, would only leave notices and reclaims undone.

Cron expressions are EventBridge's (six fields, UTC): numbers, ``*``, ``?``,
lists, ranges, steps, month and weekday names, ``L`` as the day of month.
Not read: ``W``, ``#`` and ``L`` as a weekday (no schedule of the app uses
them; such an expression is refused at start, not silently misread).
"""

from __future__ import annotations

import calendar
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from chalice.app import Chalice, Cron, Rate, ScheduledEventConfig
from chalice.local import LambdaContext

RATE_UNITS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: n for n, name in enumerate(_MONTH_NAMES, 1)}
WEEKDAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
MAX_WAIT_SECONDS = 60.0  # re-read the clock at least this often (a laptop wakes up)
SEARCH_YEARS = 8


@dataclass(frozen=True)
class Job:
    name: str
    expression: Rate | Cron
    handler: Callable[[dict[str, Any], Any], Any]
    timeout_seconds: int = 60

    def describe(self) -> str:
        return self.expression.to_string()


def declared_jobs(app: Chalice, timeouts: dict[str, int] | None = None) -> list[Job]:
    """The app's scheduled handlers, as Lambda would call them."""
    jobs = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        expression = source.schedule_expression
        if not isinstance(expression, Rate | Cron):
            raise ValueError(f"{source.name}: a schedule given as text is not read here")
        if isinstance(expression, Cron):
            CronSchedule(expression)  # refuse an expression it cannot follow, now
        jobs.append(
            Job(
                source.name,
                expression,
                app.handler_map[source.name],
                (timeouts or {}).get(source.name, 60),
            )
        )
    return jobs


# -- when ------------------------------------------------------------------------


def _number(text: str, names: dict[str, int]) -> int:
    return names[text.upper()] if text.upper() in names else int(text)


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _number(a, names), _number(b, names)
        else:
            first = _number(base, names)
            last = high if step_text else first
        if not (low <= first <= last <= high) or step < 1:
            raise ValueError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


class CronSchedule:
    """An EventBridge cron expression (UTC), and the first time after a moment."""

    def __init__(self, cron: Cron) -> None:
        self.text = cron.to_string()
        day, weekday = str(cron.day_of_month), str(cron.day_of_week)
        if any(c in f"{day} {weekday}" for c in "W#") or "L" in weekday.upper():
            raise ValueError(f"{self.text}: W, # and L as a weekday are not supported here")
        self.minutes = sorted(_field(str(cron.minutes), 0, 59))
        self.hours = sorted(_field(str(cron.hours), 0, 23))
        self.last_day = day.upper() == "L"
        self.days = frozenset() if self.last_day else _field(day, 1, 31)
        self.months = _field(str(cron.month), 1, 12, MONTHS)
        self.weekdays = _field(weekday, 1, 7, WEEKDAYS)  # 1 = Sunday, as EventBridge
        self.years = _field(str(cron.year), 1970, 2199)

    def _day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.last_day:
            on_day = day.day == calendar.monthrange(day.year, day.month)[1]
        else:
            on_day = day.day in self.days
        return on_day and (day.isoweekday() % 7 + 1) in self.weekdays

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after ``moment`` (aware), in UTC."""
        after = moment.astimezone(UTC)
        day = after.date()
        for _ in range(366 * SEARCH_YEARS):
            if self._day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if at > after:
                            return at
            day += timedelta(days=1)
        raise ValueError(f"{self.text} does not fire within {SEARCH_YEARS} years of {after}")


def next_run(expression: Rate | Cron, scheduled: datetime, now: datetime) -> datetime:
    """After a run scheduled at ``scheduled``, the next one later than ``now``.
    A rate counts from the run before (as EventBridge counts from the rule's
    creation); runs missed while the machine slept are not made up one by
    one: the next run catches up on all of them."""
    if isinstance(expression, Cron):
        return CronSchedule(expression).next_after(max(scheduled, now))
    interval = timedelta(seconds=expression.value * RATE_UNITS[expression.unit])
    at = scheduled + interval
    while at <= now:
        at += interval
    return at


# a job this frequent (the deliveries, every minute) is not reported when a run
# did nothing: make run's output would be that line, once a minute
QUIET_UNDER = timedelta(minutes=5)


def quiet(job: Job, result: dict[str, Any] | None) -> bool:
    """A frequent job's run that did nothing (every count 0) goes unsaid."""
    frequent = isinstance(job.expression, Rate) and (
        job.expression.value * RATE_UNITS[job.expression.unit] < QUIET_UNDER.total_seconds()
    )
    idle = isinstance(result, dict) and not any(result.values())
    return frequent and idle


# -- how -------------------------------------------------------------------------


def scheduled_event(name: str, at: datetime, region: str) -> dict[str, Any]:
    """What EventBridge sends a scheduled function."""
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [
            f"arn:{partition}:events:{region}:000000000000:rule/sales-office-local-{name}"
        ],
        "detail": {},
    }


def when(at: datetime, zone: tzinfo | None = None) -> str:
    """``2026-12-31 18:00:00 UTC (2027-01-01 02:00 Asia/Shanghai)``"""
    text = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if zone is not None:
        text += f" ({at.astimezone(zone):%Y-%m-%d %H:%M} {zone})"
    return text


class Scheduler:
    """Runs each job at start-up, then when its expression says, one at a
    time, on one thread, until ``stop``."""

    def __init__(
        self,
        jobs: Iterable[Job],
        *,
        region: str,
        say: Callable[[str], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        zone: tzinfo | None = None,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.jobs = list(jobs)
        self._zone = zone
        self._max_wait = max_wait_seconds
        self._region = region
        self._say = say
        self._clock = clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="schedules", daemon=True)
        self.next_at: dict[str, datetime] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Asks the thread to end; a run under way is left to finish for up to
        ``timeout`` seconds (a run cut short is safe: the next one completes it)."""
        self._stopping.set()
        self._thread.join(timeout)

    def run(self, job: Job, scheduled: datetime, why: str) -> dict[str, Any] | None:
        """One invocation, as Lambda makes it; a failure is printed, and the
        job is tried again at its next time (EventBridge's retries end the same way)."""
        context = LambdaContext(
            job.name, memory_size=512, max_runtime_ms=job.timeout_seconds * 1000
        )
        began = time.monotonic()
        try:
            result = job.handler(scheduled_event(job.name, scheduled, self._region), context)
        except Exception as failure:  # a job's failure must not end the schedules
            self._say(
                f"job {job.name} ({why}) FAILED after {time.monotonic() - began:.1f} s: "
                f"{failure!r}; tried again at its next run\n{traceback.format_exc().rstrip()}"
            )
            return None
        if quiet(job, result) and why != "at start-up":
            return result if isinstance(result, dict) else {"result": result}
        self._say(
            f"job {job.name} ran ({why}, request {context.aws_request_id}) in "
            f"{time.monotonic() - began:.1f} s: {result}"
        )
        return result if isinstance(result, dict) else {"result": result}

    def _loop(self) -> None:
        if not self.jobs:
            return
        started = self._clock()
        for job in self.jobs:
            if self._stopping.is_set():
                return
            self.run(job, started, "at start-up")
            self.next_at[job.name] = next_run(job.expression, started, self._clock())
            self._say(f"job {job.name}: next at {when(self.next_at[job.name], self._zone)}")
        while not self._stopping.is_set():
            for job in self.jobs:
                scheduled = self.next_at[job.name]
                if scheduled <= self._clock() and not self._stopping.is_set():
                    result = self.run(job, scheduled, f"scheduled for {when(scheduled)}")
                    self.next_at[job.name] = next_run(job.expression, scheduled, self._clock())
                    if not quiet(job, result):
                        self._say(
                            f"job {job.name}: next at {when(self.next_at[job.name], self._zone)}"
                        )
            wait = (min(self.next_at.values()) - self._clock()).total_seconds()
            self._stopping.wait(min(max(wait, 0.0), self._max_wait))
