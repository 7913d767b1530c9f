"""PostgreSQL numeric values decoded from a binary COPY equal float(Decimal(text)), the
independent reference, including signs, zeros, tiny and large magnitudes and NaN; values with
more digits than a float64 holds come within two units in its last place."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.db import connection

from apps.market.pgbinary import decode_rows

LONG = ["123456789.123456789012", "0.12345678901234567890123", "98765432109876543210.5", "99999999999999.99"]
VALUES = [
    "20006.910000000000",
    "0",
    "-0.000000012345",
    "0.000000000001",
    "99999999999.99",
    "-42",
    "1E+20",
    "0.1",
    "4261.48",
]


def decoded(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if connection.vendor != "postgresql":
        pytest.skip("binary COPY decoding is PostgreSQL's read path; this run uses SQLite")
    selects = " UNION ALL ".join(
        f"SELECT {index}::bigint, '{text}'::numeric, 'NaN'::numeric" for index, text in enumerate(texts)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({selects}) TO STDOUT (FORMAT BINARY)") as copy:
        data = b"".join(copy)
    return decode_rows(np.frombuffer(data, dtype=np.uint8), 3)


@pytest.mark.django_db
def test_numeric_columns_decode_like_python_decimals() -> None:
    first, values = decoded(VALUES)
    assert first.tolist() == list(range(len(VALUES)))
    assert values[:, 0].tolist() == [float(Decimal(text)) for text in VALUES]
    assert np.isnan(values[:, 1]).all()


@pytest.mark.django_db
def test_numerics_longer_than_a_float_come_within_two_units_in_the_last_place() -> None:
    _first, values = decoded(LONG)
    expected = np.array([float(Decimal(text)) for text in LONG])
    assert np.all(np.abs(values[:, 0] - expected) <= 2 * np.spacing(expected))
