"""Readouts computed from fields and cells (same functions on live and stored state)."""
