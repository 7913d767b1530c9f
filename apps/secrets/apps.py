from __future__ import annotations

from django.apps import AppConfig


class SecretsConfig(AppConfig):
    name = "apps.secrets"
    label = "secrets"
    verbose_name = "Secrets vault"

    def ready(self) -> None:
        from apps.secrets.redaction import install_log_redaction

        install_log_redaction()
