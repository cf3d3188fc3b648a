from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"

    def ready(self) -> None:
        # The engine's wordings register themselves with integrations.wording, so that
        # every process that shows a stored message can read them in its language.
        from runs import wording  # noqa: F401
