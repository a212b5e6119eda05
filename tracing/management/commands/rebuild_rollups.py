"""Rebuild the hourly and daily usage buckets of a range of days."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from tracing.rollups import rollup_observations
from workbench.models import Project


def _date(value):
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from error


class Command(BaseCommand):
    help = (
        "Recompute usage buckets for the UTC days from --since up to (not "
        "including) --until, for one project or all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, type=_date)
        parser.add_argument("--until", type=_date, default=None)
        parser.add_argument("--project", metavar="SLUG", default=None)

    def handle(self, *args, since, until, project, **options):
        project_id = None
        if project is not None:
            project_id = (
                Project.objects.filter(slug=project).values_list("pk", flat=True)
            ).first()
            if project_id is None:
                raise CommandError(f"--project: no project with slug {project!r}")
        if until is not None and until <= since:
            raise CommandError("--until must be after --since")

        def progress(project, day, done, total):
            self.stdout.write(f"{project.slug} {day:%Y-%m-%d} ({done}/{total})")

        written = rollup_observations(
            project_id=project_id, since=since, until=until, progress=progress
        )
        self.stdout.write(self.style.SUCCESS(f"Wrote {written} hour buckets."))
