"""`make demo-traffic` against a live server loaded with the demo data."""

import re
import subprocess
import sys
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from tests.e2e.conftest import ROOT, wait_for
from tracing import rollups, usage
from tracing.models import Observation, Score, Trace
from workbench.demo import UNPRICED_MODEL
from workbench.models import Project

GENERATIONS = 12


def test_demo_traffic_reports_priced_generations_linked_to_demo_prompts(
    live_server, worker, transactional_db, sdk_env
):
    call_command("seed_demo", "--port", "8140", verbosity=0)

    result = subprocess.run(
        [sys.executable, "manage.py", "demo_traffic", "--host", live_server.url]
        + ["--generations", str(GENERATIONS), "--seed", "7"],
        # The command's own defaults: the demo key pair seed_demo made.
        env={k: v for k, v in sdk_env.items() if not k.startswith("LANGFUSE_")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Sent {GENERATIONS} generations" in result.stdout
    generations = Observation.objects.filter(project__slug="demo", type="GENERATION")
    wait_for(lambda: generations.count() >= GENERATIONS)
    assert generations.count() == GENERATIONS
    assert not generations.filter(prompt_version__isnull=True).exists()
    assert set(generations.values_list("prompt_name", flat=True)) <= {
        "interview/question-generator",
        "quiz/generator",
        "resume/scorer",
        "support/triage",
    }
    priced = generations.exclude(model=UNPRICED_MODEL).exclude(level="ERROR")
    assert priced.exists()
    assert not priced.filter(total_cost__isnull=True).exists()
    assert not generations.filter(model=UNPRICED_MODEL, total_cost__gt=0).exists()
    assert Trace.objects.filter(project__slug="demo").exclude(user_id=None).exists()
    sent_scores = int(re.search(r"(\d+) scores", result.stdout).group(1))
    scores = Score.objects.filter(project__slug="demo")
    wait_for(lambda: scores.count() >= sent_scores)
    assert scores.count() == sent_scores > 0
    # Rolled up, the traffic fills the spend report with the same figures.
    demo = Project.objects.get(slug="demo")
    rollups.rollup_project_recent(demo.pk)
    now = timezone.now()
    rows = usage.spend_share(demo, start=now - timedelta(hours=1), end=now, by="model")
    assert sum(row.calls for row in rows) == GENERATIONS
    assert sum(row.cost for row in rows) == sum(
        generations.exclude(total_cost=None).values_list("total_cost", flat=True)
    )
