"""Exceptions raised by the posecheck library.

The library raises these; only :mod:`posecheck.cli` turns them into a one-line
``Error: ...`` message and a non-zero exit. Messages are complete sentences that say
what went wrong and, where there is one, how to fix it.
"""


class PosecheckError(Exception):
    """Base class of every error posecheck reports to a user (exit status 1)."""

    exit_status = 1


class SourceError(PosecheckError):
    """A video file, camera or URL cannot be opened or read."""


class ModelError(PosecheckError):
    """The pose model is missing, corrupt or cannot be loaded."""


class LandmarkFileError(PosecheckError):
    """A landmark JSONL file is missing or malformed."""


class ConfigError(PosecheckError):
    """A stretch catalogue, option or argument is invalid."""


class StoreError(PosecheckError):
    """The history database cannot be opened, is foreign or corrupt."""


class UnsafeOutputError(ConfigError):
    """An output would overwrite an input or the history (exit status 2)."""

    exit_status = 2
