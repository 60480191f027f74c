"""The error type of the heads layer."""


class HeadError(ValueError):
    """A classification head that cannot be built or called with these inputs.

    The message names the field (``embedding``, ``weight``, ``target``, an option such as
    ``head.options.marginRad``), what was expected and what was given. It subclasses
    ``ValueError`` so that callers who do not know this layer can still catch it.
    """
