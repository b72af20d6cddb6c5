"""Fixtures of the console's tests live in console_fixtures.py (importable by the test modules for their types)."""

from console_fixtures import console

__all__ = ["console"]
