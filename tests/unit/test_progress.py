"""Progress bars: silent off a terminal, counts and fields shown on one."""

from __future__ import annotations

import io
import sys

from rich.console import Console

from invasim.core import progress as prog


def test_count_progress_is_silent_off_a_terminal(capsys):
    with prog.CountProgress("frames", True) as bar:  # pytest's stderr is not a terminal
        t = bar.task("drawing", 3)
        t.advance()
        t.update(3)
    assert not bar.enabled
    assert capsys.readouterr().err == ""


def test_count_progress_shows_counts_and_fields(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(prog, "Console", lambda stderr: Console(file=out, force_terminal=True,
                                                               width=120))
    unit = "runs, {task.fields[failed]} failed"
    with prog.CountProgress(unit, True) as bar:
        t = bar.task("study", 5, completed=1, failed=0)
        t.update(4, failed=2)
    text = out.getvalue()
    assert "4/5" in text and "2 failed" in text and "study" in text
