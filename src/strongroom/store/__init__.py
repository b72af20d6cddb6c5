"""Archival storage: an OCFL 1.1 storage root on the local filesystem, written atomically, read as streams."""
