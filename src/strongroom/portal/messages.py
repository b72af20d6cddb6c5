"""The portal's translatable messages, extracted from its templates with Babel (used by the translation tests
and by translators: ``python -m strongroom.portal.messages`` prints a POT file)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

TEMPLATES = Path(__file__).parent / "templates"


def template_messages() -> Catalog:
    catalog = Catalog(project="strongroom-portal")
    found = extract_from_dir(
        str(TEMPLATES),
        method_map=[("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}},
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def main() -> None:
    buffer = io.BytesIO()
    write_po(buffer, template_messages(), omit_header=False, width=120)
    sys.stdout.write(buffer.getvalue().decode())


if __name__ == "__main__":
    main()
