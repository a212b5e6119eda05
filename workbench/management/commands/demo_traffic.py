"""Send simulated LLM calls for the demo prompts to a running workbench."""

import os

from django.core.management.base import BaseCommand, CommandError

from workbench.demo import send_demo_traffic
from workbench.management.commands.seed_demo import (
    DEFAULT_SECRET_KEY,
    DEMO_PUBLIC_KEY,
)


class Command(BaseCommand):
    help = (
        "Fetch the demo prompts through the langfuse SDK and report simulated "
        "generations to a running server."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default=os.environ.get("LANGFUSE_HOST") or "http://127.0.0.1:8000",
        )
        parser.add_argument(
            "--public-key",
            default=os.environ.get("LANGFUSE_PUBLIC_KEY") or DEMO_PUBLIC_KEY,
        )
        parser.add_argument(
            "--secret-key",
            default=(
                os.environ.get("LANGFUSE_SECRET_KEY")
                or os.environ.get("WORKBENCH_DEMO_SECRET_KEY")
                or DEFAULT_SECRET_KEY
            ),
        )
        parser.add_argument("--generations", type=int, default=40)
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, host, public_key, secret_key, generations, seed, **options):
        self.stdout.write(f"Sending demo traffic to {host} as {public_key}")
        try:
            report = send_demo_traffic(
                host=host,
                public_key=public_key,
                secret_key=secret_key,
                generations=generations,
                seed=seed,
            )
        except Exception as error:  # the SDK raises its own types per status
            raise CommandError(
                f"Demo traffic failed against {host}: {error}. Is the server "
                "running (make run) with the demo data?"
            ) from error
        self.stdout.write(report.summary())
        self.stdout.write(
            "Traces appear once the Celery worker has processed them: "
            f"{host}/p/demo/traces/"
        )
