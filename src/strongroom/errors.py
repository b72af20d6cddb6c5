"""The one exception tree of Strongroom.

Every error a user can cause or meet derives from :class:`StrongroomError`; faces (CLI, web) translate these,
and only these, into exit codes and problem documents, in one place each::

    StrongroomError                      exit 1 unless a subclass says otherwise
    ├── ConfigError                      exit 2  settings file, home directory, database URL
    │   └── HomeNotFound                          no node home where one was expected
    ├── NotFound                         exit 4  an AU, item, title or publisher asked for does not exist
    ├── InvalidIdentifier                exit 3  an ISSN, ISBN, DOI, ORCID or country code fails its check
    ├── PackageRejected                  exit 3  a deposit package is unsafe, malformed or fails its checksums
    │                                            (carries every finding, not just the first)
    ├── TriggerError                     exit 3  a trigger step the workflow does not allow (bad ballot, wrong state)
    ├── StorageError                     exit 5  the storage root is damaged or cannot be written
    │   └── ObjectBusy                            another writer holds the object
    └── ExportError                      exit 6  an export destination is unusable

Audit problems are not exceptions: an audit returns findings and the CLI maps them to exit codes
(see ``docs/cli.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class StrongroomError(Exception):
    """Base of every error Strongroom raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(StrongroomError):
    exit_code = 2


class HomeNotFound(ConfigError):
    pass


class NotFound(StrongroomError):
    exit_code = 4


class InvalidIdentifier(StrongroomError):
    exit_code = 3


@dataclass(frozen=True)
class Finding:
    """One problem found in an input: a stable code, the file it concerns and what is wrong.

    Codes are documented in ``docs/findings.md`` (a test keeps them in step with :data:`FINDING_CODES`).
    """

    code: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"[{self.code}] {where}{self.message}"


class PackageRejected(StrongroomError):
    """A deposit package was refused; nothing was written. ``findings`` lists every problem found."""

    exit_code = 3

    def __init__(self, message: str, findings: Sequence[Finding] = (), *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.findings = tuple(findings)

    def __str__(self) -> str:
        lines = [self.message]
        lines.extend(f"  {f}" for f in self.findings)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class TriggerError(StrongroomError):
    exit_code = 3


class StorageError(StrongroomError):
    exit_code = 5


class ObjectBusy(StorageError):
    pass


class ExportError(StrongroomError):
    exit_code = 6
