"""Placeholder; filled in below."""

from __future__ import annotations


class Reconnector:
    """Placeholder."""
