"""Typed errors for the host-side training tools; `reid-train` prints them as one line."""


class TrainError(Exception):
    """A problem the user can fix (bad data folder, bad arguments)."""


class DataError(TrainError):
    """The crop folder is missing, empty, or has an identity with no readable image."""
