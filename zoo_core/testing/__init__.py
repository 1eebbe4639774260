"""Helpers for tests of zoo and its plugins (they need pytest; never imported by zoo itself)."""
