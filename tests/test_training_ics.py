"""The calendar invitation: RFC 5545 lines, UTC times, escaping, folding at 75 octets."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from relais_platform.training import ics

PARIS = ZoneInfo("Europe/Paris")


def _session(**overrides):
    data = {"starts_at": datetime(2031, 3, 2, 9, 30, tzinfo=PARIS),
            "ends_at": datetime(2031, 3, 2, 17, 0, tzinfo=PARIS),
            "module": SimpleNamespace(title="Pratiques d'accompagnement; niveau 2, Bordeaux"),
            "location": "CCAS, 4 rue Claude Bonnier, 33000 Bordeaux", "online_url": None}
    data.update(overrides)
    return SimpleNamespace(**data)


def test_event_content_and_crlf_lines():
    data = ics.session_event(_session(), uid="training-1-2@relais-numerique", description="Rendez-vous",
                             stamp=datetime(2031, 1, 1, tzinfo=PARIS))
    text = data.decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    unfolded = text.replace("\r\n ", "")
    lines = unfolded.split("\r\n")
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{ics.PRODID}"]
    assert "BEGIN:VEVENT" in lines and lines[-3:] == ["END:VEVENT", "END:VCALENDAR", ""]
    assert "UID:training-1-2@relais-numerique" in lines
    assert "DTSTART:20310302T083000Z" in lines and "DTEND:20310302T160000Z" in lines
    assert "DTSTAMP:20301231T230000Z" in lines
    assert "SUMMARY:Pratiques d'accompagnement\\; niveau 2\\, Bordeaux" in lines
    assert "LOCATION:CCAS\\, 4 rue Claude Bonnier\\, 33000 Bordeaux" in lines


def test_online_session_has_a_url():
    data = ics.session_event(_session(location=None, online_url="https://visio.example.org/abc"),
                             uid="u", description="x").decode()
    assert "URL:https://visio.example.org/abc\r\n" in data and "LOCATION" not in data


def test_long_lines_are_folded_at_75_octets_without_breaking_characters():
    description = "Formation à l'accompagnement numérique — " * 10
    data = ics.session_event(_session(), uid="u", description=description)
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
        line.decode()  # every physical line is valid UTF-8
    unfolded = data.decode().replace("\r\n ", "")
    assert f"DESCRIPTION:{ics.escape_text(description)}" in unfolded


def test_escape_text_handles_newlines_and_backslashes():
    assert ics.escape_text("a\\b\nc") == "a\\\\b\\nc"
