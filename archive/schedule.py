"""When a source's crawls fall due: its cron `schedule` read by croniter in a time zone, and the slots the
scheduler last crawled it for (`schedule.json` in the data directory, written by samizdat.scheduler)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

from samizdat.archive.config import Source
from samizdat.archive.store import Store

STATE_FILE = "schedule.json"


def previous_slot(expr: str, now: datetime, zone: str) -> datetime:
    """The latest time at or before `now` the cron expression names, in `zone` (returned in UTC)."""
    local = now.astimezone(ZoneInfo(zone))
    slot: datetime = croniter(expr, local).get_prev(datetime)
    if croniter.match(expr, local.replace(second=0, microsecond=0)):
        slot = local.replace(second=0, microsecond=0)
    return slot.astimezone(UTC)


def next_slot(expr: str, now: datetime, zone: str) -> datetime:
    """The first time after `now` the cron expression names (in UTC)."""
    following: datetime = croniter(expr, now.astimezone(ZoneInfo(zone))).get_next(datetime)
    return following.astimezone(UTC)


def read_last_slots(root: Path, key: str = "last_slots") -> dict[str, str]:
    """{source: ISO time of the slot it was last crawled for}, from the data directory's schedule.json
    (`last_watches`: when its last crawl or watch began)."""
    try:
        data = json.loads((Path(root) / STATE_FILE).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.get(key, {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def last_slot(last_slots: dict[str, str], name: str, store: Store | None) -> datetime | None:
    """The slot the source was last crawled for; before the scheduler first ran it, its newest run's start
    (a source crawled by hand this morning is not due for last night's slot); None if never crawled."""
    if last_slots.get(name):
        return datetime.fromisoformat(last_slots[name])
    runs = store.runs(name, limit=1) if store is not None else []
    return datetime.fromisoformat(runs[0]["started_at"]) if runs else None


def is_due(schedule: str, zone: str, last: datetime | None, now: datetime) -> bool:
    """Whether a slot of the schedule has passed since `last` (the slot last crawled for; None: never crawled,
    so due at once). However many slots passed, the source is due once."""
    return last is None or previous_slot(schedule, now, zone) > last


def next_run(source: Source, zone: str, last: datetime | None, now: datetime) -> datetime | None:
    """When the source will be crawled next by the scheduler (`now` if it is due), or None without a schedule
    or when the source is disabled."""
    if not source.schedule or not source.enabled:
        return None
    return now if is_due(source.schedule, zone, last, now) else next_slot(source.schedule, now, zone)
