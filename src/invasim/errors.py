"""User-facing errors.

Every error a user can cause (bad config, unknown name, unreadable file, full disk) is raised as
an :class:`InvasimError`. The command line prints its message as one line and exits with status 2;
no traceback is shown.
"""

from __future__ import annotations


class InvasimError(Exception):
    """An error caused by the user's input or environment, reported as one line."""

    exit_code = 2


class ConfigError(InvasimError):
    """A scenario, override or study spec that does not validate."""


class RunDirError(InvasimError):
    """A run directory that cannot be written, read, resumed or branched."""
