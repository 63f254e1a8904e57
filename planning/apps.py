from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"

    def ready(self) -> None:
        from planning import changes, dependency_news, journey_map

        changes.connect()
        dependency_news.connect()
        journey_map.connect()
