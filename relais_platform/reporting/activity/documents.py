"""Files of the activity and agreement reports (PDF for funders, XLSX, CSV), built inside
the export job of `reporting.exports` from the parameters its request stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import render_template
from flask_babel import gettext as _

from relais_platform.accounts.models import User
from relais_platform.orm import utcnow
from relais_platform.reporting.activity.presentation import (
    breakdown_tables,
    charts_of,
    product_rows,
    total_rows,
)
from relais_platform.reporting.activity.services import activity_report, parse_period
from relais_platform.reporting.funders import services as funders
from relais_platform.spreadsheets import csv_bytes, xlsx_bytes


def _summary(report: dict[str, Any]) -> Iterable[list[Any]]:
    period = report["period"]
    yield [_("Rapport d'activité"), report["scope"]["label"], period["from"], period["to"]]
    yield [_("Indicateur"), _("Période"), _("Période précédente")]
    for _key, label, current, before in total_rows(report):
        yield [label, current, before]
    yield []
    yield [_("Produit (référence)"), _("Période"), _("Période précédente")]
    for sku, current, before in product_rows(report):
        yield [sku, current, before]


def _breakdowns(report: dict[str, Any]) -> Iterable[list[Any]]:
    for _key, title, rows in breakdown_tables(report):
        yield [title, _("Effectif")]
        for label, count in rows or [(_("Aucune donnée"), "")]:
            yield [label, count]
        yield []


def _targets(result: dict[str, Any]) -> Iterable[list[Any]]:
    convention = result["convention"]
    yield [convention["name"], convention["funder"], str(convention["starts_on"]), str(convention["ends_on"])]
    yield [_("Indicateur"), _("Objectif"), _("Réalisé"), _("Taux")]
    for row in result["targets"]:
        yield [row["indicator"], row["target"], row["actual"], row["ratio"]]
    yield []
    yield [_("Stock fléché (référence)"), _("Reçu"), _("Alloué"), _("Remis")]
    for sku, figures in result["earmarked"].items():
        yield [sku, figures["received"], figures["allocated"], figures["handed_out"]]


def build(actor: User, report: str, params: dict[str, Any], fmt: str,
          halfway: Callable[[], None]) -> tuple[bytes, str]:
    """(content, filename) of an "activity" or "convention" export."""
    if report == "convention":
        from relais_platform.reporting.funders.services import convention_report

        result = convention_report(actor, params["convention_id"])
        activity = result["activity"]
        name = f"convention-{params['convention_id']}.{fmt}"
    else:
        period = parse_period(params["from"], params["to"])
        filters = {k: params.get(k) for k in ("relais_id", "departement", "region", "convention_id")}
        activity = activity_report(funders.activity_scope(actor, **filters), period)
        result = None
        name = f"activite-{period.start}-{period.end}.{fmt}"
    halfway()
    if fmt == "csv":
        rows = [*(_targets(result) if result else []), *_summary(activity), [], *_breakdowns(activity)]
        return csv_bytes(rows), name
    if fmt == "xlsx":
        sheets = [(_("Objectifs"), _targets(result))] if result else []
        sheets += [(_("Synthèse"), _summary(activity)), (_("Répartitions"), _breakdowns(activity))]
        return xlsx_bytes(sheets), name
    from weasyprint import HTML

    html = render_template("reporting/activity_pdf.html", report=activity, convention=result,
                           totals=total_rows(activity), products=product_rows(activity),
                           breakdowns=breakdown_tables(activity), charts=charts_of(activity),
                           generated_at=utcnow())
    return HTML(string=html).write_pdf(), name
