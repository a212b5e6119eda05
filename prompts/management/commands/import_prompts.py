"""Import prompts from a CSV file with ``act`` and ``prompt`` columns.

Each row becomes a text prompt named after its ``act``: ``awesome/<act slug>``,
or ``AWESOME_<ACT>`` when the project's naming rule wants capitals. Names are
derived the same way on every run, so re-importing a file creates nothing
twice: a prompt whose latest version already holds the row's text is
skipped.
"""

import csv
import re
import sys
import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from prompts.errors import PromptError
from prompts.services import NAME_MAX_LENGTH, prompts_import
from workbench.models import Project

REQUIRED_COLUMNS = {"act", "prompt"}
# Leaves room for the folder or prefix and a de-duplicating suffix.
STEM_MAX_LENGTH = NAME_MAX_LENGTH - 40


class Command(BaseCommand):
    help = "Import prompts from a CSV file with act,prompt columns."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with act and prompt columns")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--label",
            action="append",
            default=[],
            dest="labels",
            help="label to put on each imported version (repeatable)",
        )
        parser.add_argument(
            "--prefix",
            default="awesome",
            help="folder (or name prefix) for the imported prompts",
        )

    def handle(self, *args, file, project, labels, prefix, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project with slug '{project}'.")
        rows = read_rows(file)
        names = PromptNamer(target, prefix)
        prompts = [(names.name_for(act), text) for act, text in rows]
        try:
            counts = prompts_import(
                project=target,
                prompts=prompts,
                labels=labels,
                commit_message=f"Imported from {file}",
            )
        except PromptError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Read {len(rows)} rows: {counts['created']} prompts created, "
            f"{counts['updated']} given a new version, {counts['skipped']} "
            "unchanged."
        )


def read_rows(path):
    """``[(act, prompt)]`` from the file, in order; other columns are ignored."""
    # Some prompts run to hundreds of kilobytes, past csv's 128 KB default.
    csv.field_size_limit(sys.maxsize)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = REQUIRED_COLUMNS - set(reader.fieldnames or ())
            if missing:
                raise CommandError(
                    f"{path} lacks the column(s) {', '.join(sorted(missing))}."
                )
            return [(row["act"] or "", row["prompt"] or "") for row in reader]
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error}") from error
    except (csv.Error, UnicodeDecodeError) as error:
        raise CommandError(f"{path} is not a UTF-8 CSV file: {error}") from error


class PromptNamer:
    """Turns acts into valid, unique, stable prompt names for one project."""

    def __init__(self, project, prefix):
        self.project = project
        self.prefix = prefix
        self.taken = set()

    def name_for(self, act):
        readable = self._readable(act)
        base = readable if self._valid(readable) else self._constant(act)
        return self._unique(base)

    def _readable(self, act):
        slug = slugify(act, allow_unicode=True)[:STEM_MAX_LENGTH].strip("-")
        return f"{self.prefix}/{slug or 'prompt'}"

    def _constant(self, act):
        # A naming rule such as SERVICE_NAME_PROMPT_NAME: accents folded to
        # ASCII, everything else outside A-Z and 0-9 becomes one underscore.
        ascii_act = (
            unicodedata.normalize("NFKD", act).encode("ascii", "ignore").decode()
        )
        stem = re.sub(r"[^A-Z0-9]+", "_", ascii_act.upper()).strip("_")
        stem = stem[:STEM_MAX_LENGTH].strip("_") or "PROMPT"
        prefix = re.sub(r"[^A-Z0-9]+", "_", self.prefix.upper()).strip("_")
        return f"{prefix or 'IMPORTED'}_{stem}"

    def _valid(self, name):
        return self.project.naming_rule_error(name) is None

    def _unique(self, base):
        name, number = base, 1
        separator = "-" if "/" in base else "_"
        while name in self.taken:
            number += 1
            name = f"{base}{separator}{number}"
        self.taken.add(name)
        return name
