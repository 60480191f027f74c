"""The error type of ``amlfs inspect-space``'s Python side."""


class InspectError(ValueError):
    """A request that cannot be inspected; the message names the field, what was expected and what was given."""
