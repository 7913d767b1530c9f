"""Deleting a row that other rows may still use: refuse, say by what, and change nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, RestrictedError

from apps.core.errors import RowInUse


def _count_by_kind(rows: Iterable[Model]) -> dict[str, int]:
    counts = Counter(row._meta for row in rows)
    return {
        str(meta.verbose_name if count == 1 else meta.verbose_name_plural): count
        for meta, count in sorted(counts.items(), key=lambda item: str(item[0].verbose_name))
    }


def delete_unless_used(row: Model, delete: Callable[[], object], *, advice: str = "") -> None:
    """Run `delete` (which deletes `row`, and maybe what it owns); raise RowInUse if anything still
    points at the row.

    The savepoint undoes whatever `delete` did before the refusal (a history record, rows the service
    removed first), so a refused delete changes nothing. IntegrityError covers a reference the ORM does
    not know about, when the database reports it here; its users cannot be counted.
    """
    field = str(row._meta.verbose_name)
    try:
        with transaction.atomic():
            delete()
    except ProtectedError as exc:
        raise RowInUse(field, _count_by_kind(exc.protected_objects), advice=advice) from None
    except RestrictedError as exc:
        raise RowInUse(field, _count_by_kind(exc.restricted_objects), advice=advice) from None
    except IntegrityError:
        raise RowInUse(field, {}, advice=advice) from None
