"""Attendance certificate (attestation de présence) as a PDF, rendered by WeasyPrint."""

from __future__ import annotations

from flask import render_template

from relais_platform.training.models import TrainingRecord


def certificate_filename(record: TrainingRecord) -> str:
    return f"attestation-formation-{record.id}.pdf"


def certificate_pdf(record: TrainingRecord) -> bytes:
    from weasyprint import HTML  # heavy import: only when a certificate is asked for

    html = render_template("training/certificate.html", record=record, session=record.session,
                           module=record.module, user=record.user, relais=record.user.relais)
    return HTML(string=html).write_pdf()
