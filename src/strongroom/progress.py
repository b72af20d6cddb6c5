"""Progress reporting for long operations: use cases call a :class:`Reporter`; the CLI draws it."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def stage(self, name: str, total_bytes: int | None = None) -> None:
        """A new stage starts; ``total_bytes`` is how much it will read, where known."""
        ...

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes of the current stage are done."""
        ...


class NullReporter:
    def stage(self, name: str, total_bytes: int | None = None) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass
