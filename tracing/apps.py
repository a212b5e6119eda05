from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "tracing"

    def ready(self):
        # Registers the background job runners (@runner) before any job runs.
        from . import rollup_jobs  # noqa: F401
