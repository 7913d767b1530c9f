from __future__ import annotations

from apps.exchanges.emulator import testing

# The shared fixtures; assigned rather than imported so that fixtures may take them as arguments.
emulator_factory = testing.emulator_factory
