"""Safety invariant 1 by construction: only allowed modules can turn a Secret into its clear value."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

# Grows as callers arrive: the exchange adapter factory, the model client factory, the X news source.
ALLOWED_DECRYPTION_CALLERS = (
    "apps/secrets/",
    "apps/exchanges/adapters/factory.py",
    "apps/ai/router.py",  # ModelRouter._build: a model config's key, straight into its client
    "apps/news/credentials.py",
    "apps/traders/services/notify.py",  # _notify: a channel's URL, straight into its apprise client
)
DECRYPTING_NAMES = frozenset({"secret_reveal"})
CRYPTO_MODULE = "apps.secrets.crypto"


def _references_decryption(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in DECRYPTING_NAMES
    if isinstance(node, ast.Attribute):
        crypto_decrypt = node.attr == "decrypt" and isinstance(node.value, ast.Name) and node.value.id == "crypto"
        return node.attr in DECRYPTING_NAMES or crypto_decrypt
    if isinstance(node, ast.ImportFrom):
        names = {alias.name for alias in node.names}
        return bool(
            names & DECRYPTING_NAMES
            or (node.module == CRYPTO_MODULE and "decrypt" in names)
            or (node.module == "apps.secrets" and "crypto" in names)
            or node.module == "encrypted_model_fields.fields"
        )
    if isinstance(node, ast.Import):
        return any(alias.name == CRYPTO_MODULE for alias in node.names)
    return False


def decryption_uses(source: str) -> list[int]:
    """Line numbers that call, import or alias secret_reveal, crypto.decrypt or the raw crypter."""
    return sorted({node.lineno for node in ast.walk(ast.parse(source)) if _references_decryption(node)})


def test_the_scanner_finds_every_way_in() -> None:
    found = [
        "api_key = secret_reveal(secret=account.api_key, purpose='x')",
        "from apps.secrets.services import secret_reveal as open_it",
        "value = services.secret_reveal(secret=s, purpose='x')",
        "from apps.secrets import crypto\nvalue = crypto.decrypt(token)",
        "from apps.secrets.crypto import decrypt",
        "import apps.secrets.crypto",
        "from encrypted_model_fields.fields import get_crypter",
    ]
    for source in found:
        assert decryption_uses(source), source
    assert decryption_uses("status = secret_status(secret)\nfrom apps.secrets.services import secret_create") == []


def test_only_allowed_modules_decrypt() -> None:
    base = Path(settings.BASE_DIR)
    offenders = []
    for path in sorted((base / "apps").rglob("*.py")):
        relative = path.relative_to(base).as_posix()
        if relative.startswith(ALLOWED_DECRYPTION_CALLERS):
            continue
        offenders += [f"{relative}:{line}" for line in decryption_uses(path.read_text())]
    assert offenders == [], "decryption outside the allowed modules; route it through an allowed factory"
