"""Spreadsheets in and out: reading uploaded CSV/XLSX files (imports) and streaming lists as
CSV/XLSX (exports). Kernel code: no domain is imported here."""
