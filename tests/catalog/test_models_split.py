"""The other use cases' tables are declared only when first used (issue 16, a fast command line): importing the
catalog's models and configuring their mappers declares the archive's own tables alone, every table is still
imported from ``strongroom.catalog.models``, and :func:`all_models` holds them all (the migrations' comparison with
the models is tests/catalog/test_catalog.py)."""

from __future__ import annotations

import inspect
import subprocess
import sys

from strongroom.catalog import models, models_core, models_extra


def mapped(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, models.Base)
        and value is not models.Base
        and value.__module__ == getattr(module, "__name__", "")
    }


def test_every_table_is_named_by_the_models_module() -> None:
    assert mapped(models_extra) == models.EXTRA
    assert mapped(models_core) <= set(models.__all__) and set(models.__all__) >= models.EXTRA
    for name in models.__all__:
        assert getattr(models, name) is getattr(
            models_core if name in vars(models_core) else models_extra, name, None
        ) or (name == "all_models")


def test_all_models_has_every_table() -> None:
    tables = set(models.all_models().tables) - {"write_intents"}  # Core only: services.journal_postgres
    assert {getattr(models, n).__tablename__ for n in mapped(models_core) | models.EXTRA} == tables


def test_the_archives_tables_are_declared_and_configured_alone() -> None:
    probe = (
        "import sys\n"
        "from sqlalchemy.orm import configure_mappers\n"
        "from strongroom.catalog.models import Item, Title\n"
        "configure_mappers()\n"
        "print('strongroom.catalog.models_extra' in sys.modules)\n"
        "from strongroom.catalog.models import Trigger\n"  # first use: declared now, and usable
        "configure_mappers()\n"
        "print('strongroom.catalog.models_extra' in sys.modules, Trigger.__tablename__, Trigger.votes.property.mapper.class_.__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.split() == ["False", "True", "triggers", "TriggerVote"]
