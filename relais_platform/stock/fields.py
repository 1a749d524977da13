"""Form fields and parsers the stock forms share: amounts in euros, quantities typed on lines.

Forms with one input per order line or per order are read with `line_value`, since their
fields depend on the order."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from wtforms import StringField

EUROS = re.compile(r"(\d{1,7})(?:[.,](\d{1,2}))?")
INTEGER = re.compile(r"[+-]?\d{1,9}")


def cents_text(cents: int | None) -> str:
    """Cents as a decimal amount for an input (5,00 in French, 5.00 in English)."""
    return "" if cents is None else format_decimal(cents / 100, format="0.00")


def line_value(raw: str | None) -> Any:
    """A quantity typed on an order line: None when left empty, an int when it is one,
    otherwise the text itself, which the service refuses with a message naming the product."""
    text = (raw or "").strip().replace("\u202f", "").replace(" ", "")
    if not text:
        return None
    return int(text) if INTEGER.fullmatch(text) else text


class EuroField(StringField):
    """An amount typed in euros ("5", "5,00", "5.5"); `data` holds cents."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip().replace("\u202f", "").replace(" ", "").removesuffix("€")
        self.data = None
        if not text:
            return
        match = EUROS.fullmatch(text)
        if match is None:
            raise ValueError(_l("Montant en euros attendu, par exemple 12,50."))
        self.data = int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return cents_text(self.data)


def optional_int(value: Any) -> Any:
    text = (value or "").strip() if isinstance(value, str) else value
    if text in (None, ""):
        return None
    return int(text) if isinstance(text, str) and INTEGER.fullmatch(text) else text
