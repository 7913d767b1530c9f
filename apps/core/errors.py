from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceValidationError(ValueError):
    """Bad input caught by a service. `field` names what was wrong, for forms and 422 answers."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def field_errors(self) -> list[dict[str, Any]]:
        """The entries of the API's 422 answer (apps.core.schemas.ValidationErrorOut)."""
        return [{"loc": ["body", self.field], "msg": self.message}]


class RowInUse(ServiceValidationError):
    """A delete refused because other records still use the row; nothing was deleted.

    `used_by` counts the users per kind (verbose name), for the API's 409 answer; pages show the
    message like any other service error.
    """

    def __init__(self, field: str, used_by: Mapping[str, int], *, advice: str = "") -> None:
        listed = ", ".join(f"{count} {kind}" for kind, count in used_by.items()) or "other records"
        super().__init__(field, f"is still used by {listed}" + (f"; {advice}" if advice else ""))
        self.used_by = dict(used_by)
