"""Calendar invitations (RFC 5545) built with the standard library.

Times are written in UTC (the `Z` form) so that no VTIMEZONE block is needed; lines end
with CRLF and are folded at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

from datetime import UTC, datetime

from relais_platform.orm import utcnow
from relais_platform.training.models import TrainingSession

PRODID = "-//Emmaus Connect//Relais Numerique//FR"
MAX_OCTETS = 75


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets, continuations start with a space."""
    chunks: list[str] = []
    current = ""
    limit = MAX_OCTETS
    for char in line:
        if len((current + char).encode()) > limit:
            chunks.append(current)
            current = char
            limit = MAX_OCTETS - 1  # the leading space of a continuation line counts
        else:
            current += char
    chunks.append(current)
    return "\r\n ".join(chunks)


def session_event(
    session: TrainingSession,
    *,
    uid: str,
    description: str,
    sequence: int = 0,
    stamp: datetime | None = None,
    cancelled: bool = False,
) -> bytes:
    """A one-event calendar for a training session (METHOD:PUBLISH: no organiser needed).

    `cancelled` withdraws the event from the calendar: METHOD:CANCEL with the invitation's UID
    and a higher SEQUENCE.
    """
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:CANCEL" if cancelled else "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc(stamp or utcnow())}",
        f"DTSTART:{_utc(session.starts_at)}",
        f"DTEND:{_utc(session.ends_at)}",
        f"SUMMARY:{escape_text(session.module.title)}",
        f"DESCRIPTION:{escape_text(description)}",
    ]
    if session.location:
        lines.append(f"LOCATION:{escape_text(session.location)}")
    if session.online_url:
        lines.append(f"URL:{session.online_url}")
    if cancelled:
        lines.append("STATUS:CANCELLED")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()
