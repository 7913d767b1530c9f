from __future__ import annotations

import pytest
from ninja import Schema

from apps.core.crud import CrudSpec
from apps.exchanges.models import ExchangeAccount


def test_a_spec_with_secret_fields_but_no_reader_is_refused_at_import_time() -> None:
    # Without a reader the router would hand the services no keys, and a key typed into the API
    # would be dropped without a word.
    with pytest.raises(TypeError, match="ExchangeAccount: secret_fields need read_secrets"):
        CrudSpec(
            model=ExchangeAccount,
            out=Schema,
            create_in=Schema,
            patch_in=Schema,
            filters=Schema,
            select=ExchangeAccount.objects.all,
            create=ExchangeAccount.objects.create,
            update=lambda row, **kwargs: row,
            delete=lambda row: None,
            secret_fields=ExchangeAccount.SECRET_FIELDS,
        )
