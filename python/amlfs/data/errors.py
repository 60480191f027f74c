"""The error type of the data layer."""


class DataError(ValueError):
    """A dataset that cannot be read or split; the message names the file or config field."""
