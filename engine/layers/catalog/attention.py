"""Placeholder until declared."""

SPECS: list = []
