from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The base layer: people, cycles, keys, access rules and versioned saving."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core import two_factor

        # Marks a password sign-in that still owes its second step (core/two_factor.py).
        user_logged_in.connect(two_factor.signed_in, dispatch_uid="core.two_factor.signed_in")
