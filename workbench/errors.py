"""Errors a user can fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input from the user (option, file, run directory); the message is the whole story."""


class DataError(UserError):
    """A data file that cannot be used: missing, empty, not UTF-8, or malformed at a named line."""


class RunError(UserError):
    """A run directory that is missing, not a run, or does not match the requested model."""
