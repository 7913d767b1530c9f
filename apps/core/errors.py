from __future__ import annotations


class ServiceValidationError(ValueError):
    """Bad input caught by a service. `field` names what was wrong, for forms and 422 answers."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
