"""The error type of the baselines layer."""


class BaselineError(ValueError):
    """A baseline that cannot be built; the message names the config field (``baseline.options.lr``)."""
