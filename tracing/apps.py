from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "tracing"

    def ready(self):
        # Registers the background job runners (@runner), which workers look
        # up by kind, before any job runs.
        from . import repricing, rollup_jobs  # noqa: F401
