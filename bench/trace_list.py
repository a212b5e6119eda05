"""Trace list query times over about a million traces on PostgreSQL.

    .venv/bin/python bench/trace_list.py [--traces N] [--runs R] [--rebuild]

Fills a bench database (``BENCH_TRACE_DB_URL``, default
postgres://postgres@127.0.0.1:5432/wb_bench_traces) with one project's
traces and three observations each (a span and two generations), made by
``generate_series`` in SQL, then times the list's page query (the one the
page runs, totals included) for the first page and for a deep page (a
cursor 70% of the way back) with and without each filter, and prints p50
and p99 in ms and the indexes each plan uses. The data is kept between runs;
``--rebuild`` makes it anew. Nothing here runs in the test suite.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get(
    "BENCH_TRACE_DB_URL", "postgres://postgres@127.0.0.1:5432/wb_bench_traces"
)
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
os.environ.setdefault("WORKBENCH_VAR_DIR", "/tmp/wb_bench_traces-var")

PAGE_SIZE = 50
DAYS = 30
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet", "rare-model")


def ensure_database():
    import subprocess

    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ensure-database"), DB_URL], check=True
    )


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# Data


FILL_TRACES = """
INSERT INTO tracing_trace (project_id, trace_id, timestamp, name, user_id,
    session_id, metadata, tags, public, environment, created_at, updated_at)
SELECT %(project)s, 'tr-' || i,
    -- Two traces per 2.6 s step: equal timestamps test the tie-break.
    %(now)s - ((i / 2) * (%(days)s * 86400.0 / %(traces)s * 2)) * interval '1 second',
    'chat', 'user-' || (i %% 10000), 'session-' || (i / 5),
    CASE WHEN i %% 3 = 0 THEN jsonb_build_object('feature', 'search') END,
    CASE WHEN i %% 3 = 1 THEN '["feature:summary", "beta"]'::jsonb
         ELSE '[]'::jsonb END,
    false, 'default', %(now)s, %(now)s
FROM generate_series(1, %(traces)s) AS i
"""

FILL_OBSERVATIONS = """
INSERT INTO tracing_observation (project_id, observation_id, trace_id,
    parent_observation_id, type, name, start_time, end_time, model, level,
    environment, provided_usage_details, usage_details, provided_cost_details,
    cost_details, total_cost, price_source, prompt_name, prompt_version_number,
    created_at, updated_at)
SELECT t.project_id, t.trace_id || '-' || k, t.trace_id,
    CASE WHEN k = 0 THEN NULL ELSE t.trace_id || '-0' END,
    CASE WHEN k = 0 THEN 'SPAN' ELSE 'GENERATION' END,
    CASE WHEN k = 0 THEN 'handle' ELSE 'llm' END,
    t.timestamp + k * interval '100 milliseconds',
    t.timestamp + k * interval '100 milliseconds'
        + ((n %% 97) * 100) * interval '1 millisecond',
    CASE WHEN k = 0 THEN NULL
         WHEN n %% 1000 = 7 THEN 'rare-model'
         WHEN n %% 10 < 6 THEN 'gpt-4o-mini'
         WHEN n %% 10 < 9 THEN 'gpt-4o'
         ELSE 'claude-sonnet' END,
    CASE WHEN k = 2 AND n %% 100 = 3 THEN 'ERROR' ELSE 'DEFAULT' END,
    'default', '{}'::jsonb,
    CASE WHEN k = 0 THEN '{}'::jsonb
         ELSE jsonb_build_object('input', 100 + n %% 900, 'output', 20 + n %% 300) END,
    '{}'::jsonb, '{}'::jsonb,
    CASE WHEN k = 0 THEN NULL ELSE ((n %% 500) / 100000.0)::numeric END,
    CASE WHEN k = 0 THEN '' ELSE 'public' END,
    CASE WHEN k = 1 THEN 'prompt-' || (n %% 20) END,
    CASE WHEN k = 1 THEN 1 + (n / 7) %% 5 END,
    t.created_at, t.updated_at
FROM (SELECT *, substr(trace_id, 4)::int AS n FROM tracing_trace
      WHERE project_id = %(project)s) AS t
CROSS JOIN generate_series(0, 2) AS k
"""


def build(traces):
    from django.db import connection
    from django.utils import timezone

    from prompts.models import LabelMove, Prompt
    from tracing.models import Observation, Trace
    from workbench.models import Project

    Project.objects.filter(slug="bench-traces").delete()
    project = Project.objects.create(slug="bench-traces", name="Bench traces")
    now = timezone.now()
    params = {"project": project.pk, "now": now, "days": DAYS, "traces": traces}
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(FILL_TRACES, params)
        cursor.execute(FILL_OBSERVATIONS, params)
    # "production" of prompt-3 pointed at v2 for the first half of the
    # period, then at v4: the label filter follows those moves.
    prompt = Prompt.objects.create(project=project, name="prompt-3", type="text")
    for to_version, days_ago in ((2, DAYS + 1), (4, DAYS / 2)):
        move = LabelMove.objects.create(
            prompt=prompt, label="production", to_version=to_version, moved_by_name="b"
        )
        LabelMove.objects.filter(pk=move.pk).update(
            moved_at=now - timezone.timedelta(days=days_ago)
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tracing_trace")
        cursor.execute("VACUUM ANALYZE tracing_observation")
    print(
        f"built {Trace.objects.filter(project=project).count():,} traces and "
        f"{Observation.objects.filter(project=project).count():,} observations "
        f"in {time.monotonic() - started:.0f} s"
    )
    return project


def bench_project(traces, rebuild):
    from tracing.models import Trace
    from workbench.models import Project

    project = Project.objects.filter(slug="bench-traces").first()
    if (
        rebuild
        or project is None
        or Trace.objects.filter(project=project).count() != traces
    ):
        project = build(traces)
    return project


# Timing


SCENARIOS = [
    ("no filter", {}),
    ("user", {"user": "user-4242"}),
    ("session", {"session": "session-123456"}),
    ("last 7 days", {"from": "-7d"}),
    ("model common", {"model": "gpt-4o"}),
    ("model rare (0.1%)", {"model": "rare-model"}),
    ("prompt + version", {"prompt": "prompt-3", "version": "2"}),
    ("prompt + label", {"prompt": "prompt-3", "label": "production"}),
    ("errors only (1%)", {"errors": "1"}),
    ("feature (metadata)", {"feature": "search"}),
    ("feature (tag)", {"feature": "summary"}),
    ("cost above 0.008", {"cost_above": "0.008"}),
    ("latency above 9.5s", {"latency_above": "9.5"}),
]


def query_dict(values, project):
    from django.http import QueryDict
    from django.utils import timezone

    query = QueryDict(mutable=True)
    for key, value in values.items():
        if value == "-7d":
            value = (timezone.now() - timezone.timedelta(days=7)).isoformat()
        query[key] = value
    return query


def deep_cursor(project):
    """The cursor of the trace 70% of the way back in time order."""
    from tracing.explore import format_cursor
    from tracing.models import Trace

    count = Trace.objects.filter(project=project).count()
    trace = Trace.objects.filter(project=project).order_by("-timestamp", "-pk")[
        int(count * 0.7)
    ]
    return format_cursor(trace.timestamp, trace.pk)


def timed(project, filters, runs):
    """Milliseconds per page as the view reads it: the list, then its totals."""
    from tracing.explore import trace_page

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        traces, _ = trace_page(project, filters, PAGE_SIZE)
        times.append((time.perf_counter() - started) * 1000)
    return times, len(traces)


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def indexes_used(queryset):
    """The names of the indexes in the list query's plan, and the plan."""
    plan = queryset[: PAGE_SIZE + 1].explain()
    names = sorted(set(re.findall(r"(?:using|Index Scan on) (\S+)", plan)))
    return names, plan


def run(project, runs, plan_file):
    from tracing.explore import TraceFilters, filtered_traces

    cursor = deep_cursor(project)
    header = f"{'filter':<22} {'page':<6} {'rows':>4} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"{header}  indexes")
    with open(plan_file, "w") as plans:
        for label, values in SCENARIOS:
            for page in ("first", "deep"):
                query = query_dict(values, project)
                if page == "deep":
                    query["before"] = cursor
                filters = TraceFilters.from_query(query)
                assert not filters.problems, filters.problems
                queryset = filtered_traces(project, filters)
                times, count = timed(project, filters, runs)
                names, plan = indexes_used(queryset)
                plans.write(f"== {label} / {page}\n{plan}\n\n")
                print(
                    f"{label:<22} {page:<6} {count:>4} "
                    f"{statistics.median(times):>8.1f} {p99(times):>8.1f}  "
                    f"{', '.join(names)}",
                    flush=True,
                )


def run_sessions(project, runs):
    """The session list's page: a GROUP BY over the project's sessions."""
    from django.db.models import Max

    from tracing.explore import session_page
    from tracing.models import Trace

    # The cursor of the 10,000th most recently active session.
    row = (
        Trace.objects.filter(project=project, session_id__gt="")
        .values("session_id")
        .annotate(last=Max("timestamp"))
        .order_by("-last", "-session_id")[10_000]
    )
    deep = (row["last"], row["session_id"])
    for page, before in (("first", None), ("deep", deep)):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            rows, _ = session_page(project, before=before, size=PAGE_SIZE)
            times.append((time.perf_counter() - started) * 1000)
        label = "sessions" if page == "first" else "sessions (10,000 on)"
        print(
            f"{label:<22} {page:<6} {len(rows):>4} "
            f"{statistics.median(times):>8.1f} {p99(times):>8.1f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--sessions-only", action="store_true")
    parser.add_argument("--plans", default="/tmp/wb_bench_trace_list_plans.txt")
    args = parser.parse_args()
    ensure_database()
    setup_django()
    project = bench_project(args.traces, args.rebuild)
    print(
        f"Page of {PAGE_SIZE} (list query + totals query), {args.runs} runs each; "
        f"plans in {args.plans}"
    )
    if not args.sessions_only:
        run(project, args.runs, args.plans)
    run_sessions(project, max(3, args.runs // 5))


if __name__ == "__main__":
    main()
