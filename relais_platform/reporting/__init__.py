"""Reporting: annual bilan, events and governance, dashboards and their charts."""
