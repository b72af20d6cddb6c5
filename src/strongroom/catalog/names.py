"""The order of names in listings (:mod:`strongroom.domain.names`) as SQL: ``sort_name(column)`` is a name with A-Z
lowered and compared byte by byte, on SQLite ``lower(name)`` (its ``lower()`` lowers ASCII only, its comparison is
binary, and revision 0017's index on ``lower(name)`` serves it) and on PostgreSQL
``lower(name COLLATE "C")`` (under the "C" collation its ``lower()`` lowers ASCII only, whatever the database's
locale, and its result compares bytes). The same order as :func:`strongroom.domain.names.sort_name` in Python."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class sort_name(FunctionElement[str]):  # lower case: an SQL function, named as SQLAlchemy's are
    """``sort_name(column)``: the column as listings order names."""

    type = String()
    inherit_cache = True
    name = "sort_name"


@compiles(sort_name)
def _ascii_lower(element: sort_name, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(sort_name, "postgresql")
def _ascii_lower_postgresql(element: sort_name, compiler: SQLCompiler, **kw: Any) -> str:
    # lower()'s result keeps its argument's collation, so no COLLATE is needed after it (PostgreSQL drops one from
    # an index's expression, and Alembic would then find models and migrations disagree)
    return f'lower({compiler.process(element.clauses, **kw)} COLLATE "C")'
