"""Scheduled jobs of the registry (listed in relais_platform.jobs.PERIODIC)."""

from __future__ import annotations

import logging

from relais_platform.beneficiaries import retention

log = logging.getLogger(__name__)


def anonymise_inactive_beneficiaries() -> int:
    count = retention.anonymise_inactive()
    log.info("retention: %d beneficiaries anonymised", count)
    return count


def purge_audit_log() -> int:
    count = retention.purge_audit_log()
    log.info("retention: %d audit entries purged", count)
    return count
