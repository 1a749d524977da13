"""Serial numbers of serialized units: validation, pasted lists and scans, ICCID ranges.

Pure functions (no database): the receipt, shipment and receipt-confirmation services all
read serials typed, pasted or scanned by people, and report every bad one at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _

from relais_platform.stock.catalogue.models import SerialKind

# A receipt of 100,000 SIM cards is a real delivery; a million is a typing mistake.
# Caps ranges and pasted lists alike.
MAX_SERIALS_PER_RECEIPT = 100_000
# The issuer part of an ICCID (89, country code, issuer): a range never crosses issuers.
ICCID_ISSUER_DIGITS = 7

_SEPARATORS = re.compile(r"[\s,;]+")
_SERIAL_CHARS = re.compile(r"[A-Za-z0-9-]{3,32}")
# Luhn doubles every second digit from the right; the digit sum of 2d, as a digit.
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body + digit` pass the Luhn check."""
    reversed_body = body[::-1]
    # Once the check digit is appended, the body's last digit is the first one doubled.
    total = sum(map(int, reversed_body[0::2].translate(_DOUBLED))) + sum(map(int, reversed_body[1::2]))
    return str(-total % 10)


def luhn_valid(digits: str) -> bool:
    return len(digits) > 1 and digits.isdigit() and luhn_check_digit(digits[:-1]) == digits[-1]


def normalize(kind: SerialKind, value: str) -> str:
    """Serial numbers are compared case-insensitively: stored upper case."""
    value = value.strip()
    return value.upper() if kind == SerialKind.SERIAL else value


def serial_problem(kind: SerialKind, serial: str) -> str | None:
    """Why `serial` (normalized) is not a valid serial of this kind, or None."""
    if kind == SerialKind.ICCID:
        if not serial.isascii() or not serial.isdigit() or not 19 <= len(serial) <= 20:
            return _("un ICCID comporte 19 ou 20 chiffres")
        if not serial.startswith("89"):
            return _("un ICCID commence par 89")
        if not luhn_valid(serial):
            return _("clé de contrôle (Luhn) invalide")
        return None
    if kind == SerialKind.IMEI:
        if not serial.isascii() or not serial.isdigit() or len(serial) != 15:
            return _("un IMEI comporte 15 chiffres")
        if not luhn_valid(serial):
            return _("clé de contrôle (Luhn) invalide")
        return None
    if not _SERIAL_CHARS.fullmatch(serial):
        return _("un numéro de série comporte 3 à 32 caractères parmi A-Z, 0-9 et le tiret")
    return None


def split_serials(entries: Iterable[str]) -> list[str]:
    """Serials from pasted text or scanner output: one or many per entry.

    Scanners end each code with a newline, carriage return or tab; spreadsheets paste
    newlines, people type commas, semicolons or spaces. Empty pieces are dropped.
    """
    return [piece for entry in entries for piece in _SEPARATORS.split(entry) if piece]


@dataclass(frozen=True)
class SerialCheck:
    """Serials ready to store, and one message per offending serial."""

    serials: list[str]
    problems: list[str]


def check_serials(kind: SerialKind, entries: Iterable[str]) -> SerialCheck:
    """Validate every serial and flag repeats within the input (each named once)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    serials: list[str] = []
    problems: list[str] = []
    for raw in split_serials(entries):
        serial = normalize(kind, raw)
        if serial in seen:
            if serial not in repeated:
                repeated.add(serial)
                problems.append(f"{serial}: " + _("saisi plusieurs fois"))
            continue
        seen.add(serial)
        problem = serial_problem(kind, serial)
        if problem:
            problems.append(f"{serial}: {problem}")
        else:
            serials.append(serial)
    return SerialCheck(serials, problems)


def expand_iccid_range(first: str, last: str) -> tuple[list[str], list[str]]:
    """Every ICCID from `first` to `last` inclusive, each with its own Luhn digit.

    Returns (iccids, problems). Both ends must be valid ICCIDs of the same length and issuer,
    in increasing order, and the range at most MAX_SERIALS_PER_RECEIPT long.
    """
    first, last = first.strip(), last.strip()
    problems = [
        f"{value}: {problem}"
        for value in (first, last)
        if (problem := serial_problem(SerialKind.ICCID, value))
    ]
    if problems:
        return [], problems
    if len(first) != len(last):
        return [], [_("Le premier et le dernier ICCID doivent avoir le même nombre de chiffres.")]
    if first[:ICCID_ISSUER_DIGITS] != last[:ICCID_ISSUER_DIGITS]:
        return [], [_("Le premier et le dernier ICCID doivent avoir le même préfixe "
                      "(%(prefix)s…) : une plage ne peut pas changer d'émetteur.",
                      prefix=first[:ICCID_ISSUER_DIGITS])]
    start, stop = int(first[:-1]), int(last[:-1])
    if stop < start:
        return [], [_("Plage inversée : %(first)s vient après %(last)s.", first=first, last=last)]
    count = stop - start + 1
    if count > MAX_SERIALS_PER_RECEIPT:
        return [], [_("Plage de %(count)d ICCID : au plus %(max)d par réception.",
                      count=count, max=MAX_SERIALS_PER_RECEIPT)]
    width = len(first) - 1
    bodies = (f"{n:0{width}d}" for n in range(start, stop + 1))
    return [body + luhn_check_digit(body) for body in bodies], []
