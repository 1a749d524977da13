"""Liveness of the parts the platform needs: `GET /healthz`."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from relais_platform import jobs
from relais_platform.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    report = {"status": "ok", "database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        report["database"] = "unavailable"
    try:
        jobs.redis_connection().ping()
    except Exception:
        report["redis"] = "unavailable"
    if "unavailable" in report.values():
        report["status"] = "unavailable"
        return jsonify(report), 503
    return jsonify(report)
