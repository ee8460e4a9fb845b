"""Progress display for long runs: simulated time, ETA and the scenario's key quantities.

Silent when disabled or when standard error is not a terminal (logs and CI stay clean).
"""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RunProgress:
    """A progress bar over simulated minutes; a no-op when not enabled."""

    def __init__(self, label: str, start_min: float, end_min: float, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.start_min, self.end_min = start_min, end_min
        self._progress: Progress | None = None
        self._task = None
        self.label = label

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("t = {task.fields[t]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[readout]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                self.label,
                total=max(self.end_min - self.start_min, 1e-12),
                t=_fmt_time(self.start_min),
                readout="",
            )
        return self

    def update(self, t_min: float, readout: dict[str, float]) -> None:
        """Show the simulated time ``t_min`` and the key readouts."""
        if self._progress is None:
            return
        text = "  ".join(f"{k} {v:.4g}" for k, v in readout.items())
        self._progress.update(
            self._task, completed=t_min - self.start_min, t=_fmt_time(t_min), readout=text
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)


def _fmt_time(t_min: float) -> str:
    if t_min < 120:
        return f"{t_min:.4g} min"
    if t_min < 2 * 1440:
        return f"{t_min / 60:.4g} h"
    return f"{t_min / 1440:.4g} d"


class _Task:
    """One bar of a :class:`CountProgress` (a no-op without a display)."""

    def __init__(self, progress: Progress | None, task_id) -> None:
        self._progress, self._id = progress, task_id

    def advance(self) -> None:
        """One more item done."""
        if self._progress is not None:
            self._progress.advance(self._id)

    def update(self, completed: int, **fields: object) -> None:
        """Set the count done and the bar's text fields."""
        if self._progress is not None:
            self._progress.update(self._id, completed=completed, **fields)


class CountProgress:
    """Progress bars over counted items (frames, runs): done/total, elapsed, ETA.

    Silent when disabled or off a terminal. ``unit`` follows the count on each bar and may
    name the bars' own fields, e.g. ``"runs, {task.fields[failed]} failed"``.
    """

    def __init__(self, unit: str, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.unit = unit
        self._progress: Progress | None = None

    def __enter__(self) -> CountProgress:
        if self.enabled:
            from rich.progress import MofNCompleteColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn(self.unit), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self._progress.__enter__()
        return self

    def task(self, label: str, total: int, completed: int = 0, **fields: object) -> _Task:
        """Start a bar of ``total`` items, ``completed`` of them done."""
        if self._progress is None:
            return _Task(None, None)
        return _Task(
            self._progress,
            self._progress.add_task(label, total=total, completed=completed, **fields),
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
