"""Ingest: turning a publisher's package into a checked, described set of files ready for storage."""
