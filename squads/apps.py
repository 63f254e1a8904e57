from django.apps import AppConfig


class SquadsConfig(AppConfig):
    name = "squads"

    def ready(self) -> None:
        from core.versioning import versioned_saved
        from squads.cowriting import follow_versioned_saves

        versioned_saved.connect(
            follow_versioned_saves, weak=False, dispatch_uid="squads-stamp-versioned"
        )
