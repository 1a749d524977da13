"""Staff of the relais, invited by e-mail: the national team for any relais (by SIRET),
a relais admin for its own relais."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role, User
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.imports.kinds.base import MEANING_SIRET, Column, Importer, required_problem
from relais_platform.tabular.reader import Row
from relais_platform.tenants.models import Relais, RelaisStatus

STAFF_ROLES = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
INVITABLE = (RelaisStatus.ACTIVE, RelaisStatus.SUSPENDED)


class UsersImporter(Importer):
    kind = "users"
    label = _l("Utilisateurs des relais")
    roles = frozenset({Role.NATIONAL, Role.RELAIS_ADMIN})
    columns = (
        Column("email", _l("Adresse e-mail (reçoit l'invitation ; unique)."), "samir.benali@exemple.fr"),
        Column("name", _l("Prénom et nom."), "Samir Benali"),
        Column("role", _l("Rôle : relais_admin (administrateur) ou relais_worker (intervenant)."),
               "relais_worker"),
        Column("relais_siret", MEANING_SIRET, "73282932000074"),
    )

    @classmethod
    def columns_for(cls, role: Role) -> tuple[Column, ...]:
        # A relais admin imports into its own relais: no SIRET column.
        return cls.columns if role == Role.NATIONAL else cls.columns[:3]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.emails: set[str] = set()

    def _relais_by_siret(self, rows: list[Row]) -> dict[str, Relais]:
        if self.context.relais is not None:
            return {}
        sirets = {row.get("relais_siret").replace(" ", "") for row in rows}
        return {r.siret: r for r in db.session.scalars(select(Relais).where(Relais.siret.in_(sirets)))}

    def check_batch(self, rows: list[Row]) -> list[Any]:
        national = self.context.relais is None
        relais_of = self._relais_by_siret(rows)
        candidates = []
        for row in rows:
            required = ("email", "name", "role") + (("relais_siret",) if national else ())
            if required_problem(row, required, self.problems):
                continue
            ok = True
            try:
                email = accounts.normalize_email(row.get("email"))
            except ValidationFailed:
                self.problems.error(row.number, "email", _("Adresse e-mail invalide."))
                ok = False
            role = row.get("role").lower()
            if role not in {r.value for r in STAFF_ROLES}:
                self.problems.error(row.number, "role", _("Rôle attendu : relais_admin ou relais_worker."))
                ok = False
            relais = self.context.relais
            if national:
                relais = relais_of.get(row.get("relais_siret").replace(" ", ""))
                if relais is None:
                    self.problems.error(row.number, "relais_siret", _("Aucun relais avec ce SIRET."))
                    ok = False
            if relais is not None and relais.status not in INVITABLE:
                self.problems.error(row.number, "relais_siret" if national else "email",
                                    _("Ce relais n'est pas actif."))
                ok = False
            if ok and relais is not None:
                candidates.append((row, email, role, relais))
        taken = set(db.session.scalars(
            select(func.lower(User.email)).where(func.lower(User.email).in_([c[1] for c in candidates]))))
        records = []
        for row, email, role, relais in candidates:
            if email in taken:
                self.problems.error(row.number, "email", _("Cette adresse e-mail est déjà utilisée."))
            elif email in self.emails:
                self.problems.error(row.number, "email",
                                    _("Cette adresse e-mail figure plusieurs fois dans le fichier."))
            else:
                records.append((row.number, email, row.get("name"), role, relais.id))
            self.emails.add(email)
        return records

    def write_batch(self, records: list[Any]) -> None:
        for number, email, name, role, relais_id in records:
            relais = db.session.get(Relais, relais_id)
            try:
                accounts.invite_user(email=email, name=name, role=role, relais=relais,
                                     invited_by=self.context.actor)
            except ValidationFailed as exc:
                # E.g. an address taken in another relais, which this relais cannot see.
                self.problems.field_errors(number, exc, {"relais_id": "relais_siret"})
                continue
            self.created += 1
