"""Relais with their referent: created active, the referent invited as first admin.

Fields are checked by the tenants' own rules (SIRET key, postcode, kind, dimensions,
e-mail); a SIRET or referent e-mail already known, or repeated in the file, is an error.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from relais_platform.accounts.models import User
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.imports.kinds.base import NATIONAL_ONLY, Column, Importer, required_problem
from relais_platform.tabular.reader import Row
from relais_platform.tenants import services as tenants
from relais_platform.tenants.models import Relais, RelaisKind

# The tenants' field names under the file's column names.
FIELD_COLUMNS = {"contact_name": "referent_name", "contact_email": "referent_email"}


class RelaisImporter(Importer):
    kind = "relais"
    label = _l("Relais et leurs référents")
    roles = NATIONAL_ONLY
    columns = (
        Column("name", _l("Nom de la structure."), "CCAS de Bordeaux"),
        Column("kind", _l("Type de structure : %(kinds)s.", kinds=", ".join(k.value for k in RelaisKind)),
               "ccas"),
        Column("siret", _l("SIRET (14 chiffres, clé de contrôle vérifiée, unique)."), "73282932000074"),
        Column("address", _l("Adresse (facultatif)."), "4 rue Claude Bonnier", required=False),
        Column("postcode", _l("Code postal (5 chiffres)."), "33000"),
        Column("city", _l("Commune."), "Bordeaux"),
        Column("dimensions",
               _l("Dimensions séparées par des virgules : connexion, equipement, accompagnement."),
               "connexion, equipement"),
        Column("referent_name", _l("Nom du ou de la référente, invitée comme administratrice du relais."),
               "Claire Martin"),
        Column("referent_email", _l("E-mail du ou de la référente (reçoit l'invitation)."),
               "claire.martin@ccas-bordeaux.fr"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sirets: set[str] = set()
        self.emails: set[str] = set()

    def check_batch(self, rows: list[Row]) -> list[Any]:
        candidates: list[tuple[Row, dict[str, Any]]] = []
        for row in rows:
            if required_problem(row, ("name", "kind", "siret", "postcode", "city", "dimensions",
                                      "referent_name", "referent_email"), self.problems):
                continue
            data = {
                "name": row.get("name"), "kind": row.get("kind").lower(), "siret": row.get("siret"),
                "address": row.get("address"), "postcode": row.get("postcode"), "city": row.get("city"),
                "dimensions": [d.strip().lower() for d in row.get("dimensions").replace(";", ",").split(",")
                               if d.strip()],
                "contact_name": row.get("referent_name"), "contact_email": row.get("referent_email"),
            }
            try:
                cleaned = tenants._clean(data)
            except ValidationFailed as exc:
                self.problems.field_errors(row.number, exc, FIELD_COLUMNS)
                continue
            candidates.append((row, cleaned))
        taken_sirets = set(db.session.scalars(
            select(Relais.siret).where(Relais.siret.in_([c["siret"] for _r, c in candidates]))))
        taken_emails = set(db.session.scalars(
            select(func.lower(User.email)).where(
                func.lower(User.email).in_([c["contact_email"] for _r, c in candidates]))))
        records = []
        for row, cleaned in candidates:
            ok = True
            if cleaned["siret"] in taken_sirets:
                self.problems.error(row.number, "siret", _("Un relais avec ce SIRET existe déjà."))
                ok = False
            elif cleaned["siret"] in self.sirets:
                self.problems.error(row.number, "siret", _("Ce SIRET figure plusieurs fois dans le fichier."))
                ok = False
            if cleaned["contact_email"] in taken_emails:
                self.problems.error(row.number, "referent_email",
                                    _("Cette adresse e-mail est déjà utilisée."))
                ok = False
            elif cleaned["contact_email"] in self.emails:
                self.problems.error(row.number, "referent_email",
                                    _("Cette adresse e-mail figure plusieurs fois dans le fichier."))
                ok = False
            self.sirets.add(cleaned["siret"])
            self.emails.add(cleaned["contact_email"])
            if ok:
                records.append((row.number, cleaned))
        return records

    def write_batch(self, records: list[Any]) -> None:
        for number, data in records:
            fields = {k: v for k, v in data.items() if k != "departement"}
            try:
                relais = tenants.create_relais(fields)
                tenants.invite_first_admin(relais, data["contact_email"], data["contact_name"],
                                           self.context.actor)
            except ValidationFailed as exc:
                # Taken since the check (the whole import is then rolled back).
                self.problems.field_errors(number, exc, FIELD_COLUMNS | {"email": "referent_email"})
                continue
            self.created += 1
