"""The default prompt template every AI trader without one of its own uses."""

from django.db import migrations

from apps.traders.prompting import DEFAULT_SYSTEM, DEFAULT_USER

NAME = "Default trade plan"


def create(apps, schema_editor):
    PromptTemplate = apps.get_model("traders", "PromptTemplate")
    PromptTemplate.objects.get_or_create(
        name=NAME,
        defaults={
            "description": "The trader's candles, indicators, signal, news, position and risk limits; answer a JSON plan.",
            "system": DEFAULT_SYSTEM,
            "user": DEFAULT_USER,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("traders", "PromptTemplate").objects.filter(name=NAME, traders__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("traders", "0006_ai_mode")]
    operations = [migrations.RunPython(create, remove)]
