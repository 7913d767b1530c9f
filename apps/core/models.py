"""Core has no tables of its own (roles are auth groups). This module exists because Django
sends post_migrate only to apps with a models module, and core syncs role permissions then."""
