"""Report e-mails: rendered now (the request's language), delivered by RQ after commit."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import gettext as _

from relais_platform import mail
from relais_platform.extensions import db
from relais_platform.stock.orders.notifications import relais_recipients
from relais_platform.stock.reports.models import StockReport
from relais_platform.tenants.models import Relais


def report_returned(report: StockReport) -> None:
    """Tell the relais' admins (or its contact address) what to correct."""
    relais = db.session.get(Relais, report.relais_id)
    emails = relais_recipients([report.relais_id]).get(report.relais_id) or \
        [e for e in [relais.contact_email if relais else None] if e]
    period = f"{report.period:%Y-%m}"
    body = render_template("distributions/mail/report_returned.txt", report=report, period=period,
                           base_url=current_app.config["PUBLIC_BASE_URL"])
    for email in emails:
        mail.send(email, _("Rapport de stock de %(period)s à corriger", period=period), body)
