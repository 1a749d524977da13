"""Web forms of the orders: filters, submission, cancellation, manual payment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from relais_platform.stock.fields import EuroField
from relais_platform.stock.orders.models import OrderStatus
from relais_platform.stock.orders.services import STATUS_LABELS


class OrderFilterForm(FlaskForm):
    """The orders list's filters (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Statut"),
        choices=[SelectChoice("", _l("Tous")),
                 *(SelectChoice(status.value, label) for status, label in STATUS_LABELS.items())],
        validate_choice=False,
    )
    relais_id = SelectField(_l("Relais"), choices=[], validate_choice=False)

    def status_value(self) -> OrderStatus | None:
        values = {status.value for status in OrderStatus}
        return OrderStatus(self.status.data) if self.status.data in values else None

    def relais_value(self) -> int | None:
        data = self.relais_id.data or ""
        return int(data) if data.isdigit() else None


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Motif de l'annulation (facultatif)"), render_kw={"rows": 2})


class SubmitForm(FlaskForm):
    confirm_unusual = BooleanField(_l("Je confirme ces quantités inhabituelles"))


class ManualPaymentForm(FlaskForm):
    amount_cents = EuroField(_l("Montant reçu (€)"), render_kw={"inputmode": "decimal"})
    reference = StringField(_l("Référence du paiement (virement, chèque, mandat…)"),
                            render_kw={"maxlength": 200, "autocomplete": "off"})
