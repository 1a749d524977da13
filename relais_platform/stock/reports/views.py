"""Pages of the monthly stock report (relais) and of who reported (national team)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.bounds import INT32_MAX
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.blueprints import distributions_bp as bp
from relais_platform.stock.distributions.api import NATIONAL, STAFF
from relais_platform.stock.distributions.views import Page
from relais_platform.stock.pages import PAGE_SIZE, error_messages, form_int, page_number
from relais_platform.stock.reports import services as reports
from relais_platform.stock.warehouse.forms import REASON_LABELS
from relais_platform.stock.warehouse.serials import split_serials


@bp.app_template_filter("month_name")
def month_name(period: str) -> str:
    """`2026-11` as the reader's language writes the month (« novembre 2026 »)."""
    try:
        return format_date(date(int(period[:4]), int(period[5:7]), 1), "LLLL y")
    except ValueError:
        return period


@bp.get("/reports")
@roles_required(*STAFF)
def report_latest() -> BaseResponse:
    period = reports.format_period(reports.last_ended_period())
    return redirect(url_for("distributions.report", period=period))


@bp.get("/reports/history")
@roles_required(*STAFF)
def report_list() -> Page:
    """The relais' stored monthly reports, the latest month first, with their downloads."""
    page = min(page_number(), INT32_MAX)
    rows, total = reports.own_reports(page, PAGE_SIZE)
    return render_template("distributions/report_list.html", rows=rows, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), total=total,
                           latest=reports.format_period(reports.last_ended_period()),
                           title=_("Rapports de stock envoyés"))


def _report_page(period: str, values: dict[str, str] | None = None, messages: list[str] | None = None,
                 status: int = 200) -> Page:
    report = reports.draft_or_report(period)
    return render_template("distributions/report.html", report=report, values=values or {},
                           reasons=REASON_LABELS, messages=messages or [],
                           can_submit=current_user.role == Role.RELAIS_ADMIN,
                           title=_("Rapport de stock de %(period)s",
                                   period=month_name(report["period"]))), status


@bp.route("/reports/<period>", methods=["GET", "POST"])
@roles_required(*STAFF)
def report(period: str) -> Page:
    try:
        if request.method == "GET":
            return _report_page(period)
        if current_user.role != Role.RELAIS_ADMIN:
            return _report_page(period, messages=[_("Seul le référent du relais envoie le rapport.")],
                                status=403)
        skus = request.form.getlist("sku")
        lines = [{
            "sku": sku,
            "counted_closing": form_int(request.form.get(f"counted-{sku}")),
            "losses": form_int(request.form.get(f"losses-{sku}")),
            "loss_reason": request.form.get(f"loss_reason-{sku}"),
            "adjustment_reason": request.form.get(f"adjustment_reason-{sku}"),
            "loss_reason_code": request.form.get(f"loss_reason_code-{sku}") or None,
            "adjustment_reason_code": request.form.get(f"adjustment_reason_code-{sku}") or None,
            "lost_serials": split_serials([request.form.get(f"lost_serials-{sku}", "")]),
        } for sku in skus]
        reports.submit(period, lines)
    except DomainError as exc:
        db.session.rollback()
        if request.method == "GET" or exc.status == 409:
            return render_template("distributions/report_error.html", messages=error_messages(exc),
                                   title=_("Rapport de stock")), exc.status
        return _report_page(period, request.form.to_dict(), error_messages(exc), exc.status)
    flash(_("Rapport de stock de %(period)s envoyé.", period=month_name(period)), "success")
    return redirect(url_for("distributions.report", period=period))


@bp.get("/national")
@roles_required(*NATIONAL)
def national() -> Page:
    text = request.args.get("period") or reports.format_period(reports.last_ended_period())
    try:
        period = reports.parse_period(text, ended=False)
    except ValidationFailed as exc:
        return render_template("distributions/report_error.html", messages=error_messages(exc),
                               title=_("Rapports de stock du réseau")), 422
    rows = reports.reporting_status(period)
    return render_template("distributions/national.html", period=reports.format_period(period),
                           due_on=reports.due_on(period), rows=rows, stock=reports.network_stock(),
                           reported=sum(1 for r in rows if r.submitted_at),
                           late=sum(1 for r in rows if r.late and not r.submitted_at),
                           title=_("Rapports de stock du réseau"))


# --- the relais' home page and the national review --------------------------------------


def stock_notices() -> list[tuple[str, str]]:
    """What the relais' home page asks of its admin: reports returned for correction."""
    if current_user.role != Role.RELAIS_ADMIN:
        return []
    return [(_("Le rapport de stock de %(period)s vous est renvoyé pour correction.",
               period=reports.format_period(period)),
             url_for("distributions.report", period=reports.format_period(period)))
            for period in reports.returned_periods(current_user.relais_id)]


@bp.app_context_processor
def _home_notices() -> dict[str, Any]:
    return {"stock_notices": stock_notices}


@bp.get("/national/review")
@roles_required(*NATIONAL)
def review_queue() -> Page:
    page = page_number()
    rows, total = reports.to_review(page, PAGE_SIZE)
    return render_template("distributions/review_queue.html", rows=rows, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), title=_("Rapports de stock à relire"))


def _review_page(relais_id: int, period: str, messages: list[str] | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Page:
    report = reports.national_report(relais_id, period)
    title = _("Rapport de stock de %(relais)s — %(period)s", relais=report["relais_name"],
              period=report["period"])
    return render_template("distributions/review.html", report=report, messages=messages or [],
                           values=values or {}, title=title), status


@bp.route("/national/<int:relais_id>/<period>", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def review(relais_id: int, period: str) -> Page:
    if request.method == "GET":
        return _review_page(relais_id, period)
    try:
        reports.review(relais_id, period, request.form.get("decision"), request.form.get("comment"))
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _review_page(relais_id, period, error_messages(exc), request.form.to_dict(), exc.status)
    flash(_("Revue enregistrée."), "success")
    return redirect(url_for("distributions.review_queue"))
