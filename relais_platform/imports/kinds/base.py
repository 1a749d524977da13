"""What every kind of import provides: its columns (with their meaning, for the templates),
who may import it, a check of each batch of rows, and the writing of the checked rows.

A kind checks rows batch by batch (never the whole file at once) and keeps across batches
only what cross-row rules need (keys already seen). The same `check_batch` runs during the
check and again during the apply, since the platform may have changed in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from relais_platform.accounts.models import Role, User
from relais_platform.domain import ValidationFailed
from relais_platform.tabular.reader import Row
from relais_platform.tenants.models import Relais

TRUE_WORDS = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "x"})
FALSE_WORDS = frozenset({"non", "n", "no", "false", "faux", "0", ""})


@dataclass(frozen=True)
class Column:
    name: str
    meaning: Any  # lazy French text
    example: str
    required: bool = True


@dataclass
class Context:
    """Who imports, for which relais (None: the national team)."""

    actor: User
    relais: Relais | None
    import_id: int


@dataclass
class Problems:
    """Errors and warnings by row and column."""

    errors: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    rows_with_errors: set[int] = field(default_factory=set)

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append((row, column, message))
        self.rows_with_errors.add(row)

    def warn(self, row: int, column: str, message: str) -> None:
        self.warnings.append((row, column, message))

    def field_errors(self, row: int, exc: ValidationFailed, columns: Mapping[str, str]) -> None:
        """A service's field errors, each under the file's column (`columns`: field → column)."""
        for name, messages in exc.errors.items():
            for message in messages:
                self.error(row, columns.get(name, name), str(message))


def parse_bool(value: str) -> bool | None:
    """oui/non (and the usual spellings); None when it is neither."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_int(value: str) -> int | None:
    text = value.strip().replace(" ", "").replace("\u202f", "")
    if text.endswith(".0"):
        text = text[:-2]
    try:
        return int(text)
    except ValueError:
        return None


class Importer:
    """One kind of import. Subclasses set the class attributes and the two batch methods."""

    kind: ClassVar[str]
    label: ClassVar[Any]
    roles: ClassVar[frozenset[Role]]
    columns: ClassVar[tuple[Column, ...]]

    def __init__(self, context: Context, problems: Problems, *, applying: bool = False):
        self.context = context
        self.problems = problems
        # During the apply, a check the writing service makes again anyway may be skipped.
        self.applying = applying
        self.created = 0
        self.updated = 0
        self.skipped = 0

    @classmethod
    def columns_for(cls, role: Role) -> tuple[Column, ...]:
        return cls.columns

    @classmethod
    def refused_column(cls, header: list[str]) -> str | None:
        """A column the whole file is refused for (e.g. personal data never collected)."""
        return None

    def begin(self) -> None:
        """Before the first batch (e.g. open the national scope)."""

    def check_batch(self, rows: list[Row]) -> list[Any]:
        """Check the rows; return what to write for the valid ones (errors go to `problems`)."""
        raise NotImplementedError

    def write_batch(self, records: list[Any]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """After the last batch is written (e.g. write what was accumulated)."""


def required_problem(row: Row, names: tuple[str, ...], problems: Problems) -> bool:
    missing = [name for name in names if not row.get(name)]
    for name in missing:
        problems.error(row.number, name, _("Ce champ est obligatoire."))
    return bool(missing)


NATIONAL_ONLY = frozenset({Role.NATIONAL})
MEANING_SIRET = _l("SIRET du relais (14 chiffres).")
