"""The error type of the loss layer."""


class LossInputError(ValueError):
    """An input of the searched loss (``theta``, ``cosine``, ``target``, ``scale``, ...) is invalid.

    The message names the field, what was expected and what was given. It subclasses
    ``ValueError`` so that callers who do not know this layer can still catch it.
    """
