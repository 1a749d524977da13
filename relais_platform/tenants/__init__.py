"""Relais (the tenants): registry, applications, lifecycle."""
