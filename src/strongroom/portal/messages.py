"""The portal's translatable messages, extracted with Babel from its templates and from the Python whose text the
portal shows (its own modules, the access decision, registration and accounts): every ``_()``, ``gettext``,
``ngettext`` or ``N_()`` there. Used by the translation tests and by translators:
``python -m strongroom.portal.messages`` prints a POT file."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import write_po

TEMPLATES = Path(__file__).parent / "templates"
PACKAGE = Path(__file__).parent.parent
# Python whose messages a reader can see on the portal: the portal itself, the access decision's reasons, and the
# registration and sign-in messages the forms show.
SHOWN_SOURCES = (
    "portal/*.py",
    "portal/console/*.py",  # the console's pages and their messages
    "domain/access.py",
    "domain/eligibility.py",
    "services/institutions.py",
    "services/accounts.py",
    "services/publishers.py",
    "services/pkppn*.py",  # what the OJS plugin shows its journal manager
    "network/config.py",  # a network configuration's problems, shown by the network administration
    "services/network_admin.py",  # the draft's problems and the preview's warnings
    "services/membership.py",  # joining: why a signed configuration is not installed
)


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


def python_sources() -> list[Path]:
    return sorted({path for pattern in SHOWN_SOURCES for path in PACKAGE.glob(pattern)})


def portal_messages() -> Catalog:
    """Every message the portal can show: the templates' and those of :data:`SHOWN_SOURCES`."""
    catalog = template_messages()
    for path in python_sources():
        for lineno, message, comments, context in extract_from_file("python", str(path)):
            catalog.add(
                message, None, [(str(path.relative_to(PACKAGE)), lineno)], auto_comments=comments, context=context
            )
    return catalog


def main() -> None:
    buffer = io.BytesIO()
    write_po(buffer, portal_messages(), omit_header=False, width=120)
    sys.stdout.write(buffer.getvalue().decode())


if __name__ == "__main__":
    main()
