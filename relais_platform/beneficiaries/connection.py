"""The solidarity connection period of a person (12 months from their first connection
product, kept by the distributions service) and its one extension, granted by a relais
admin with a reason, audited."""

from __future__ import annotations

from flask_babel import gettext as _

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.domain import Conflict, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow

MAX_EXTENSION_MONTHS = 12
MAX_REASON = 2000


def extend(beneficiary: Beneficiary, months: object, reason: str | None) -> Beneficiary:
    errors: dict[str, list[str]] = {}
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_EXTENSION_MONTHS:
        errors["months"] = [_("Une prolongation de 1 à %(n)d mois.", n=MAX_EXTENSION_MONTHS)]
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        errors["reason"] = [_("Indiquez la raison (%(n)d caractères au plus).", n=MAX_REASON)]
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(months, int)
    if beneficiary.connection_started_on is None:
        raise Conflict(_("Cette personne n'a pas encore reçu de produit de connexion : rien à prolonger."))
    if beneficiary.connection_extension_months is not None:
        raise Conflict(_("La période de connexion de cette personne a déjà été prolongée (une seule fois)."))
    beneficiary.connection_extension_months = months
    beneficiary.connection_extension_reason = reason
    beneficiary.connection_extended_at = utcnow()
    beneficiary.connection_extended_by_id = current_actor_id()
    db.session.flush()
    audit.record("connection_extended", target=beneficiary,
                 details={"months": months, "connection_until": str(beneficiary.connection_until)})
    return beneficiary
