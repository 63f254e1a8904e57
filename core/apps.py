from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The base layer: people, cycles, keys, access rules and versioned saving."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
