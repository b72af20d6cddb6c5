"""Progress where no bar can be drawn: a long command whose output goes to a file, a pipe or a journal tells it in a
line per task every LOG_EVERY seconds; on a terminal rich draws its bar and no such line is written."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, TextColumn

from strongroom.cli import bars
from strongroom.cli.bars import LOG_EVERY, Bars


def told(sink: io.StringIO) -> list[str]:
    """The lines written (rich ends a transient bar with an empty one)."""
    return [line for line in sink.getvalue().splitlines() if line]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def logged(terminal: bool = False) -> tuple[io.StringIO, Console]:
    sink = io.StringIO()
    return sink, Console(file=sink, force_terminal=terminal, width=200)


def test_a_log_is_told_each_task_once_an_interval_has_passed_not_at_every_update() -> None:
    sink, console = logged()
    clock = Clock()
    with Bars(TextColumn("{task.description}"), BarColumn(), console=console, transient=True, get_time=clock) as bar:
        task = bar.add_task("writing the search index", total=10_000_000)
        bar.update(task, completed=5)
        assert sink.getvalue() == ""  # a quick command prints no line at all
        clock.now += LOG_EVERY
        bar.update(task, completed=2_400_000)
        clock.now += LOG_EVERY / 2
        bar.update(task, completed=3_000_000)
        clock.now += LOG_EVERY / 2
        bar.advance(task, 1_000_000)
    lines = told(sink)
    assert [line.split(", ")[0] for line in lines] == [
        "writing the search index: 2,400,000 of 10,000,000 (24%)",
        "writing the search index: 4,000,000 of 10,000,000 (40%)",
    ]
    assert all(line.endswith(" s") for line in lines)  # how long it has run


def test_bytes_are_told_as_bytes_and_a_task_of_unknown_total_as_a_count() -> None:
    sink, console = logged()
    clock = Clock()
    with Bars(
        TextColumn("{task.description}"), DownloadColumn(), console=console, transient=True, get_time=clock
    ) as bar:
        hashing = bar.add_task("hashing", total=3_000_000)
        clock.now += LOG_EVERY
        bar.update(hashing, completed=1_500_000)
    with Bars(TextColumn("{task.description}"), console=console, transient=True, get_time=clock) as bar:
        objects = bar.add_task("cataloguing objects", total=None)
        clock.now += LOG_EVERY
        bar.update(objects, completed=1234)
    assert [line.split(", ")[0] for line in told(sink)] == [
        "hashing: 1.5 MB of 3.0 MB (50%)",
        "cataloguing objects: 1,234",
    ]


@pytest.mark.parametrize("how", ["terminal", "disabled", "hidden task"])
def test_no_line_where_a_bar_is_drawn_or_nothing_is_wanted(how: str) -> None:
    sink, console = logged(terminal=how == "terminal")
    clock = Clock()
    with Bars(TextColumn("{task.description}"), console=console, get_time=clock, disable=how == "disabled") as bar:
        task = bar.add_task("auditing", total=10, visible=how != "hidden task")
        clock.now += LOG_EVERY
        bar.update(task, completed=5)
    assert "auditing: 5 of 10" not in sink.getvalue()


def test_durations_read_as_a_person_says_them() -> None:
    assert [bars._duration(s) for s in (4.9, 130, 7260)] == ["4 s", "2 min 10 s", "2 h 1 min"]
