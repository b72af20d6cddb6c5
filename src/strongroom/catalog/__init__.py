"""The catalog: what the node holds, in SQLAlchemy 2 models over SQLite (embedded default) or PostgreSQL.

The catalog is an index of the storage root, never the only record: every fact needed to rebuild it is in the
OCFL objects (see ``services.reindex``).
"""
