"""What "released" means is written once, as ``released.RELEASED``: the read model's queries are built from it, none
spells it out again as SQL text (where a change to the rule would leave a copy behind, showing or hiding the wrong
items). The sitemap index's recursive statement, once raw SQL, is checked to carry the rule itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from strongroom.services import released


def test_no_query_text_repeats_the_rule() -> None:
    tree = ast.parse(Path(released.__file__).read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    copies = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "released_at" in node.value
        and id(node) not in docstrings
    ]
    assert not copies, "SQL text in services/released.py repeats the released rule; build the query from RELEASED"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_the_sitemap_index_walk_uses_the_rule(dialect: Dialect) -> None:
    rule = str(released.RELEASED.compile(dialect=dialect))
    walk = str(released._RELEASED_RANGES.compile(dialect=dialect))
    assert walk.count(rule) == 2  # the first released id, and each jump to the next range's
