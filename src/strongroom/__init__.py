"""Strongroom: a community preservation network for scholarly journals and books."""

__version__ = "0.1.0"
