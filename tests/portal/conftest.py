"""Fixtures of the portal tests live in portal_fixtures.py (importable by the test modules for their types)."""

from portal_fixtures import archive, live_portal

__all__ = ["archive", "live_portal"]
