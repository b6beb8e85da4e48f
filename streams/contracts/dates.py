"""Dates and times: the one parser for user-given dates, and the one ISO-8601 format we write. Pure.

Every timestamp the pipeline writes is ISO-8601 in UTC with a ``Z`` and milliseconds; every date a
user or producer gives is read by ``parse_time`` (naive times count as UTC, as the search engine does).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

MAX_DATE_CHARS = 100  # the longest RFC 2822 date with a zone comment is well under this


def parse_time(value: str) -> datetime:
    """ISO-8601 date or datetime (or RFC 2822, as in RSS) → an aware UTC datetime; ``ValueError``
    with a readable message otherwise. A bare date is its midnight."""
    text = value.strip()
    if len(text) > MAX_DATE_CHARS:  # Python reads "2024-05-01T11" + a million "1"s as a time
        raise ValueError(f"{len(text)} characters is too long for a date (max {MAX_DATE_CHARS})")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(
                f"expected an ISO-8601 date or datetime such as 2024-05-01 or 2024-05-01T12:00:00Z, got {value!r}"
            ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range") from None


def is_date_only(value: str) -> bool:
    """True for ``2024-05-01`` (a whole day), False for a datetime."""
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def to_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalise_date(value: str) -> str:
    """A producer's date → ISO-8601 in UTC with ``Z`` (seconds precision kept as given)."""
    return parse_time(value).isoformat().replace("+00:00", "Z")


def utc_now_iso() -> str:
    return to_iso(datetime.now(UTC))


def iso_from_epoch(seconds: float) -> str:
    return to_iso(datetime.fromtimestamp(seconds, UTC))


def epoch_from_iso(value: str) -> float:
    return parse_time(value).timestamp()
