"""Messages for people that a face can translate: the English text carries its template (a gettext message id)
and the values put into it, so the portal shows it in the reader's language while the command line and the logs
show the English. The domain and the services mark such messages with :func:`N_` (gettext's "translate later"
marker, which the portal's message extraction finds); nothing here knows about any face or catalog of
translations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Text(str):
    """An English message (it *is* the string) with its ``template`` and ``values`` kept for translation."""

    template: str
    values: Mapping[str, object]

    def __new__(cls, template: str, values: Mapping[str, object] | None = None) -> Text:
        values = dict(values or {})
        self = super().__new__(cls, template % {k: str(v) for k, v in values.items()} if values else template)
        self.template = template
        self.values = values
        return self

    def render(self, gettext: Callable[[str], str]) -> str:
        """This message through ``gettext``, its values too when they are messages."""
        values = {k: v.render(gettext) if isinstance(v, Text) else str(v) for k, v in self.values.items()}
        return gettext(self.template) % values if values else gettext(self.template)


def N_(template: str, **values: object) -> Text:  # gettext's conventional name for "translate later"
    """Mark ``template`` (``%(name)s`` placeholders) as a message to translate, with its values."""
    return Text(template, values)
