from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "tracing"

    def ready(self):
        # Registers the runners of background jobs, which workers look up by kind.
        from . import repricing  # noqa: F401
