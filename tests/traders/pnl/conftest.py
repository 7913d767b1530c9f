from __future__ import annotations

import pytest

from tests.traders.pnl.helpers import HandDesk, build_hand_desk


@pytest.fixture
def hand_desk(db) -> HandDesk:
    return build_hand_desk()
