"""``import_prompts``: the real awesome-chatgpt-prompts file, names, re-runs."""

import csv
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from prompts.management.commands.import_prompts import PromptNamer
from prompts.models import LabelMove, Prompt, PromptVersion
from workbench.models import NamingRule

from .conftest import prompt_path

pytestmark = pytest.mark.django_db

REAL_FILE = settings.BASE_DIR.parent / "shared" / "data" / "prompts.csv"
REAL_ROWS = 1529


@pytest.fixture
def real_file():
    if not REAL_FILE.exists():
        pytest.skip(f"{REAL_FILE} is not there")
    return str(REAL_FILE)


def real_rows():
    csv.field_size_limit(sys.maxsize)
    with open(REAL_FILE, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run_import(path, project, *args):
    out = StringIO()
    call_command("import_prompts", path, "--project", project.slug, *args, stdout=out)
    return out.getvalue()


def write_csv(tmp_path, rows, header=("act", "prompt", "for_devs")):
    path = tmp_path / "prompts.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def test_it_imports_every_row_of_the_real_file_and_serves_it_byte_exact(
    real_file, project, api
):
    output = run_import(real_file, project, "--label", "production")

    # 1,529 rows but only 1,513 distinct acts: the 16 repeated rows are kept
    # as their own prompts (suffix -2) so that every row is imported.
    assert f"Read {REAL_ROWS} rows: {REAL_ROWS} prompts created" in output
    assert Prompt.objects.filter(project=project).count() == REAL_ROWS
    assert PromptVersion.objects.filter(prompt__project=project).count() == REAL_ROWS
    assert LabelMove.objects.count() == 2 * REAL_ROWS
    assert Prompt.objects.filter(name="awesome/astrologer-2").exists()

    rows = real_rows()
    largest = max(rows, key=lambda row: len(row["prompt"]))
    scripted = next(row for row in rows if "<script" in row["prompt"])
    cyrillic = next(row for row in rows if row["act"].startswith("Патентный"))
    chinese = next(row for row in rows if row["act"].startswith("小红书"))
    namer = PromptNamer(project, "awesome")
    names = {row["act"]: namer.name_for(row["act"]) for row in rows}
    for row in (largest, scripted, cyrillic, chinese):
        response = api.get(prompt_path(names[row["act"]]))
        assert response.status_code == 200
        assert response.json()["prompt"] == row["prompt"]
        assert response.json()["labels"] == ["latest", "production"]
    assert len(largest["prompt"]) > 140_000
    assert names[cyrillic["act"]] == "awesome/патентный-поиск"


def test_a_second_run_imports_nothing_twice(real_file, project):
    run_import(real_file, project)
    before = PromptVersion.objects.count(), LabelMove.objects.count()

    output = run_import(real_file, project)

    assert f"0 prompts created, 0 given a new version, {REAL_ROWS} unchanged" in output
    assert (PromptVersion.objects.count(), LabelMove.objects.count()) == before


def test_names_follow_the_projects_naming_rule(real_file, project):
    project.naming_rule = NamingRule.SERVICE_NAME_PROMPT_NAME
    project.save()

    run_import(real_file, project)

    names = list(Prompt.objects.values_list("name", flat=True))
    assert len(names) == REAL_ROWS
    assert [name for name in names if project.naming_rule_error(name)] == []
    assert "AWESOME_ASTROLOGER" in names and "AWESOME_ASTROLOGER_2" in names
    # Accents fold to ASCII; scripts with no ASCII form get a numbered name.
    assert "AWESOME_ANALYSE_ENERGETIQUE_AVEC_DJU_CONSOMMATION_ET_COUTS" in names
    assert "AWESOME_PROMPT" in names and "AWESOME_PROMPT_2" in names


def test_a_changed_row_gets_a_new_version(tmp_path, project):
    first = write_csv(
        tmp_path, [("Poet", "Write a poem", "FALSE"), ("Cook", "Cook", "")]
    )
    run_import(first, project)
    second = write_csv(
        tmp_path, [("Poet", "Write a sonnet", "x"), ("Cook", "Cook", "")]
    )

    output = run_import(second, project, "--label", "staging")

    assert "0 prompts created, 1 given a new version, 1 unchanged" in output
    poet = Prompt.objects.get(name="awesome/poet")
    assert list(poet.versions.values_list("number", "content")) == [
        (2, "Write a sonnet"),
        (1, "Write a poem"),
    ]
    assert {label.name: label.version.number for label in poet.labels.all()} == {
        "latest": 2,
        "staging": 2,
    }


def test_quotes_newlines_and_html_survive(tmp_path, project, api):
    text = 'Say "hi",\r\nthen <b>bold</b> & {{name}}\n\n  trailing  '
    path = write_csv(tmp_path, [("Quoter", text, "")])

    run_import(path, project, "--label", "production")

    assert api.get(prompt_path("awesome/quoter")).json()["prompt"] == text


def test_it_refuses_a_file_without_the_columns(tmp_path, project):
    path = write_csv(tmp_path, [("x", "y")], header=("title", "body"))

    with pytest.raises(CommandError, match="act, prompt"):
        run_import(path, project)

    assert Prompt.objects.count() == 0


def test_it_refuses_an_unknown_project_and_a_bad_label(tmp_path, project):
    path = write_csv(tmp_path, [("Poet", "x", "")])

    with pytest.raises(CommandError, match="No project"):
        call_command("import_prompts", path, "--project", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="labels: 'latest'"):
        run_import(path, project, "--label", "latest")

    assert Prompt.objects.count() == 0
