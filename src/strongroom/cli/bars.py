"""Progress bars that also tell a log.

On a terminal rich draws its bar. Where the output is a file, a pipe or a service's journal (a cron job, a systemd
unit, ``strongroom reindex > reindex.log``), rich draws nothing at all until the end, and a bar left transient
shows nothing even then: an operator watching a ten-minute rebuild saw an empty log. There :class:`Bars` writes a
plain line for each task every :data:`LOG_EVERY` seconds while it runs ("writing the search index: 2,400,000 of
10,000,000 (24%), 2 min 10 s"), a task's first line after the first interval, so a quick command prints none.

Imported by commands that show a bar, and only there (rich.progress is not free to import).
"""

from __future__ import annotations

from typing import Any

from rich.filesize import decimal
from rich.progress import DownloadColumn, Progress, ProgressColumn, Task, TaskID

LOG_EVERY = 30.0  # seconds between two lines of one task where no bar can be drawn


class Bars(Progress):
    """rich's :class:`~rich.progress.Progress` on a terminal; elsewhere, a line per task every ``LOG_EVERY``
    seconds. Counts are shown as bytes when a column shows bytes (a :class:`~rich.progress.DownloadColumn`). Time is
    rich's own clock (its ``get_time``), the one a task's elapsed time is read from."""

    def __init__(self, *columns: str | ProgressColumn, **kwargs: Any) -> None:
        super().__init__(*columns, **kwargs)
        self._logging = not self.console.is_terminal and not self.disable
        self._as_bytes = any(isinstance(column, DownloadColumn) for column in columns)
        self._told: dict[TaskID, float] = {}  # each task's last line (or its start)

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> TaskID:
        task = super().add_task(description, *args, **kwargs)
        self._told[task] = self.get_time()
        return task

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        super().update(task_id, **kwargs)
        self._tell(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._tell(task_id)

    def _tell(self, task_id: TaskID) -> None:
        if not self._logging:
            return
        now = self.get_time()
        if now - self._told.get(task_id, now) < LOG_EVERY:
            return
        task = next((t for t in self.tasks if t.id == task_id), None)
        if task is None or not task.visible:
            return
        self._told[task_id] = now
        self.console.print(self.line(task), markup=False, highlight=False, soft_wrap=True)

    def line(self, task: Task) -> str:
        """What a log is told of ``task``: its description, how far it is and for how long it has run."""
        done = self._amount(task.completed)
        if task.total:
            share = min(100.0, 100 * task.completed / task.total)
            told = f"{done} of {self._amount(task.total)} ({share:.0f}%)"
        else:
            told = done
        return f"{task.description}: {told}, {_duration(task.elapsed or 0.0)}"

    def _amount(self, n: float) -> str:
        return decimal(int(n)) if self._as_bytes else f"{int(n):,}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
