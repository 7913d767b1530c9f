"""Market data streaming: `manage.py stream_market_data` (see engine.py for how it works)."""
