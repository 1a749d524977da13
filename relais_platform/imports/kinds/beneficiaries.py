"""People a relais already follows, from the spreadsheet it kept until now.

Only the registry's fields are accepted, with its own rules; a column the registry must never
hold refuses the whole file. Rows that look like people already registered (the registry's
duplicate rule: similar full name, same or unknown birth year) are listed and skipped unless
the row says `create_anyway`. Written in batches (one INSERT per batch), one audit entry.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, insert, select, text

from relais_platform.accounts.models import Role
from relais_platform.audit import services as audit
from relais_platform.beneficiaries import registry
from relais_platform.beneficiaries.models import (
    Banked,
    Beneficiary,
    Housing,
    Language,
    Nationality,
    Situation,
)
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.imports.kinds.base import Column, Importer, parse_bool, parse_int
from relais_platform.orm import utcnow
from relais_platform.tabular.reader import Row

# Header words of data the registry must never hold (privacy.md): NIR, full birth date,
# health, income, bank details, detailed nationality. Compared without accents, spaces
# or punctuation.
FORBIDDEN = (
    (re.compile(r"^(nir|ssn|secu|insee)|securitesociale|numsecu|numerosecu|socialsecurity"),
     _l("numéro de sécurité sociale (NIR)")),
    (re.compile(r"datedenaissance|datenaissance|naissancedate|birthdate|dateofbirth|^ddn$|^dob$"),
     _l("date de naissance complète (seule l'année est permise)")),
    (re.compile(r"sante|health|handicap|maladie|medical|pathologie|traitement|diagnosticmedical"),
     _l("données de santé")),
    (re.compile(r"revenu|income|salaire|ressources|allocation|montant|^rsa$|^caf"), _l("revenus")),
    (re.compile(r"iban|^rib$|^bic$|comptebancaire|bankaccount|bankdetails|coordonneesbancaires"),
     _l("coordonnées bancaires")),
    (re.compile(r"^pays|country|paysdenaissance|lieudenaissance|birthplace|nationalitedetaillee|^citizenship"),
     _l("nationalité détaillée (seuls France / UE / hors UE sont permis)")),
)

# The registry's duplicate rule (`search.likely_duplicates`: whole-name trigram similarity
# `%` on the unaccented name, same or unknown birth year), for a whole file. Row-level security
# keeps the trigram index out of reach of a non-leakproof operator, and calling
# `beneficiary_similar_ids` per row computes every registered key again (about 0.1 s a row
# against 2,000 people): the relais' keys are computed once, into a temporary table of this
# transaction with its own trigram index, which each batch of rows probes.
REGISTRY_KEYS_SQL = (
    text("DROP TABLE IF EXISTS import_registry_keys"),
    text("CREATE TEMP TABLE import_registry_keys ON COMMIT DROP AS"
         " SELECT f_unaccent(lower((first_name || ' ') || last_name)) AS name_key, birth_year"
         " FROM beneficiaries WHERE anonymised_at IS NULL"),
    text("CREATE INDEX ON import_registry_keys USING gin (name_key gin_trgm_ops)"),
    text("ANALYZE import_registry_keys"),
)
LOOK_ALIKES_SQL = text("""
SELECT DISTINCT v.n
FROM unnest(CAST(:ns AS int[]), CAST(:names AS text[]), CAST(:years AS int[])) AS v(n, name, year)
JOIN import_registry_keys k ON k.name_key % f_unaccent(lower(v.name))
WHERE v.year IS NULL OR k.birth_year IS NULL OR k.birth_year = v.year
""")


def _bare(name: str) -> str:
    text_ = unicodedata.normalize("NFKD", name.lower())
    return "".join(c for c in text_ if c.isalnum() and not unicodedata.combining(c))


def _choices(enum_cls: type) -> str:
    return ", ".join(member.value for member in enum_cls)  # type: ignore[attr-defined]


class BeneficiariesImporter(Importer):
    kind = "beneficiaries"
    label = _l("Bénéficiaires (registre du relais)")
    roles = frozenset({Role.RELAIS_ADMIN})
    columns = (
        Column("first_name", _l("Prénom."), "Amina"),
        Column("last_name", _l("Nom."), "Diallo"),
        Column("birth_year", _l("Année de naissance (jamais la date complète)."), "1987", required=False),
        Column("phone", _l("Téléphone (ou no_phone = oui)."), "06 12 34 56 78", required=False),
        Column("no_phone", _l("oui si la personne n'a pas de téléphone."), "non", required=False),
        Column("language", _l("Langue : %(values)s.", values=_choices(Language)), "fr", required=False),
        Column("situation", _l("Situation : %(values)s.", values=_choices(Situation)), "job_seeker",
               required=False),
        Column("housing", _l("Logement : %(values)s.", values=_choices(Housing)), "hosted", required=False),
        Column("banked", _l("Bancarisation : %(values)s.", values=_choices(Banked)), "yes", required=False),
        Column("nationality",
               _l("Nationalité (groupe seulement) : %(values)s.", values=_choices(Nationality)),
               "outside_eu", required=False),
        Column("referrer", _l("Structure orienteuse."), "Pôle emploi Bordeaux", required=False),
        Column("note", _l("Note factuelle, visible du relais seulement."), "", required=False),
        Column("consent", _l("oui : la personne a consenti à son enregistrement (obligatoire)."), "oui"),
        Column("create_anyway", _l("oui pour créer la personne même si elle ressemble à une personne "
                                   "déjà enregistrée."), "non", required=False),
    )

    @classmethod
    def refused_column(cls, header: list[str]) -> str | None:
        for cell in header:
            bare = _bare(cell)
            for pattern, what in FORBIDDEN:
                if pattern.search(bare):
                    return _("La colonne « %(column)s » est refusée : le registre ne doit jamais contenir "
                             "de %(what)s. Retirez-la du fichier.", column=cell, what=what)
        return None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.has_registry = False

    def begin(self) -> None:
        registered = exists().where(Beneficiary.anonymised_at.is_(None))
        self.has_registry = bool(db.session.scalar(select(registered)))
        if self.has_registry:
            for statement in REGISTRY_KEYS_SQL:
                db.session.execute(statement)

    def check_batch(self, rows: list[Row]) -> list[Any]:
        candidates: list[tuple[Row, dict[str, Any], bool]] = []
        for row in rows:
            ok = True
            if parse_bool(row.get("consent")) is not True:
                self.problems.error(row.number, "consent", _(
                    "Le consentement de la personne est nécessaire pour l'enregistrer (consent = oui)."))
                ok = False
            data: dict[str, Any] = {name: row.get(name) for name in registry.FIELDS if name in row.values}
            if "birth_year" in data:
                year = data["birth_year"]
                data["birth_year"] = parse_int(year) if year else None
                if year and data["birth_year"] is None:
                    self.problems.error(row.number, "birth_year",
                                        _("Année de naissance attendue (ex. 1987)."))
                    ok = False
            no_phone = parse_bool(row.get("no_phone"))
            if no_phone is None:
                self.problems.error(row.number, "no_phone", _("oui ou non attendu."))
                ok = False
            data["no_phone"] = bool(no_phone)
            create_anyway = parse_bool(row.get("create_anyway"))
            if create_anyway is None:
                self.problems.error(row.number, "create_anyway", _("oui ou non attendu."))
                ok = False
            try:
                values = registry._clean(data)
                values["no_phone"] = bool(values.get("no_phone"))
                registry._check(values)
            except ValidationFailed as exc:
                self.problems.field_errors(row.number, exc, {})
                continue
            if ok:
                candidates.append((row, values, bool(create_anyway)))
        look_alikes = self._look_alikes(candidates)
        records = []
        for row, values, create_anyway in candidates:
            if row.number in look_alikes and not create_anyway:
                self.problems.warn(row.number, "last_name", _(
                    "Ressemble à une personne déjà enregistrée : ligne ignorée (create_anyway = oui pour la "
                    "créer quand même)."))
                self.skipped += 1
                continue
            records.append(values)
        return records

    def _look_alikes(self, candidates: list[tuple[Row, dict[str, Any], bool]]) -> set[int]:
        if not self.has_registry or not candidates:
            return set()
        rows = db.session.execute(LOOK_ALIKES_SQL, {
            "ns": [row.number for row, _v, _c in candidates],
            "names": [f"{v['first_name']} {v['last_name']}" for _r, v, _c in candidates],
            "years": [v.get("birth_year") for _r, v, _c in candidates],
        })
        return {n for (n,) in rows}

    def write_batch(self, records: list[Any]) -> None:
        if not records:
            return
        now = utcnow()
        relais_id = self.context.relais.id if self.context.relais else None
        values = [{name: record.get(name) for name in registry.FIELDS}
                  | {"relais_id": relais_id, "consent_at": now, "last_seen_at": now}
                  for record in records]
        db.session.execute(insert(Beneficiary), values)
        self.created += len(values)

    def finish(self) -> None:
        audit.record("beneficiaries_imported", target_type="imports", target_id=self.context.import_id,
                     details={"created": self.created, "skipped": self.skipped})
