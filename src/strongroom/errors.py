"""The one exception tree of Strongroom, and the exit code of each kind of error.

Every error a user can cause or meet derives from :class:`StrongroomError`; faces (CLI, web) translate these,
and only these, into exit codes and problem documents, in one place each::

    StrongroomError                      3  REFUSED        what was asked fails its checks; nothing was changed
    ├── ConfigError                      7  CONFIG         settings file, home directory, database URL
    │   └── HomeNotFound                                   no node home where one was expected
    ├── NotFound                         4  NOT_FOUND      an AU, item, title or publisher asked for does not exist
    │   └── (jobs) UnknownSubject                          a job queued for an AU or title this node does not have
    ├── InvalidIdentifier                3  REFUSED        an ISSN, ISBN, DOI, ORCID or country code fails its check
    ├── PackageRejected                  3  REFUSED        a deposit package is unsafe, malformed or fails its checksums
    │                                                      (carries every finding, not just the first)
    ├── TriggerError                     3  REFUSED        a trigger step the workflow does not allow
    ├── StorageError                     5  STORAGE        the storage root is damaged or cannot be written
    │   ├── ContentMissing                                 a file the inventory names is not in storage
    │   └── ObjectBusy                  11  BUSY           another process is writing the object
    ├── ExportError                      6  DESTINATION    an export destination is unusable
    ├── DiskFull                        12  NO_SPACE       a disk filled up: which one, and what was kept
    │   └── SearchIndexFull                                the search index could not be written
    ├── (search) SearchIndexBusy        11  BUSY           another process holds the search index's writer (a rebuild)
    ├── (harvest) PermissionMissing      9  NOT_PERMITTED  the publisher's site does not grant permission
    ├── (harvest) CrawlPaused           10  PAUSED         a crawl stopped on purpose; running it again resumes
    └── (harvest, network) ...           8  REMOTE         a publisher's site or feed, or a peer, failed

Audit problems are not exceptions: an audit returns findings and the CLI exits with PROBLEMS_FOUND. Each code
means one thing (:data:`EXIT_MEANINGS`, documented in ``docs/cli.md``; a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS_FOUND = 1
    USAGE = 2
    REFUSED = 3
    NOT_FOUND = 4
    STORAGE = 5
    DESTINATION = 6
    CONFIG = 7
    REMOTE = 8
    NOT_PERMITTED = 9
    PAUSED = 10
    BUSY = 11
    NO_SPACE = 12
    INTERNAL = 70
    INTERRUPTED = 130


EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; for `audit`, everything checked is intact",
    ExitCode.PROBLEMS_FOUND: "the command ran and found problems: `audit` found a damaged, missing, unreadable or "
    "unexpected file or a catalog disagreement; `poll` could not conclude or repair; `harvest scheduled` had "
    "failures; `pkppn process` left a deposit in an error state; `demo` did not behave as expected",
    ExitCode.USAGE: "the command line is wrong (an unknown command or option, a missing or malformed argument)",
    ExitCode.REFUSED: "what was asked fails its checks and was refused, with nothing changed: a deposit package, an "
    "identifier, a file to import, a ballot or trigger step, a registration, a report request, a key that would be "
    "overwritten",
    ExitCode.NOT_FOUND: "the AU, item, title, publisher or institution asked for does not exist",
    ExitCode.STORAGE: "the storage root is damaged or cannot be written",
    ExitCode.DESTINATION: "an export destination cannot be used",
    ExitCode.CONFIG: "the node's home, settings or catalog database cannot be used, or a service it depends on (clamd) "
    "does not answer",
    ExitCode.REMOTE: "a publisher's site or feed, or a peer node, failed or refused",
    ExitCode.NOT_PERMITTED: "not permitted: the publisher's site does not grant permission to collect, or a sign-in "
    "was refused",
    ExitCode.PAUSED: "a harvest stopped on purpose with its progress kept; run it again to resume",
    ExitCode.BUSY: "another process is writing the same object; try again when it has finished",
    ExitCode.NO_SPACE: "a disk is full (the message names which, and what was kept); free space and run the command "
    "again",
    ExitCode.INTERNAL: "an unexpected error (a bug); the node recovers at its next start; please report it",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); the node stays consistent and recovers on its next start",
}


class StrongroomError(Exception):
    """Base of every error Strongroom raises on purpose."""

    exit_code: ExitCode = ExitCode.REFUSED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(StrongroomError):
    exit_code = ExitCode.CONFIG


class HomeNotFound(ConfigError):
    pass


class NotFound(StrongroomError):
    exit_code = ExitCode.NOT_FOUND


class InvalidIdentifier(StrongroomError):
    exit_code = ExitCode.REFUSED


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

    exit_code = ExitCode.REFUSED

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
    exit_code = ExitCode.REFUSED


class StorageError(StrongroomError):
    exit_code = ExitCode.STORAGE


class ObjectBusy(StorageError):
    exit_code = ExitCode.BUSY


class ContentMissing(StorageError):
    pass


class DiskFull(StrongroomError):
    """A disk filled up during a write (or would have: large writes check first)."""

    exit_code = ExitCode.NO_SPACE


class SearchIndexFull(DiskFull):
    """The search index could not be written for lack of room (what it lacks stays queued in the catalog)."""


class ExportError(StrongroomError):
    exit_code = ExitCode.DESTINATION
