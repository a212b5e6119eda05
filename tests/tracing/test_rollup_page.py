"""The usage roll-ups page, its rebuild job, and the feature key setting."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from tracing import rollup_jobs, rollups
from tracing.models import (
    BackgroundJob,
    Granularity,
    JobKind,
    JobStatus,
    Observation,
    ObservationType,
    PriceSource,
    RollupWatermark,
    Trace,
    UsageBucket,
)
from tracing.tasks import run_background_job
from workbench.models import Role

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 12, 1, tzinfo=UTC)
BELOW_ADMIN = [Role.VIEWER, Role.REVIEWER, Role.EDITOR, Role.APPROVER]


def url(project):
    return reverse("rollup-status", args=[project.slug])


_numbers = itertools.count(1)


def call(project, start, trace="t1"):
    return Observation.objects.create(
        project=project,
        observation_id=f"c{next(_numbers)}",
        trace_id=trace,
        type=ObservationType.GENERATION,
        start_time=start,
        end_time=start + timedelta(seconds=1),
        model="gpt-4o",
        usage_details={"input": 10, "output": 5},
        total_cost=Decimal("0.01"),
        price_source=PriceSource.PUBLIC,
    )


@pytest.fixture
def two_days(project):
    """Calls on 1 and 2 December, in a trace whose metadata names two keys."""
    Trace.objects.create(
        project=project,
        trace_id="t1",
        timestamp=DAY,
        metadata={"feature": "search", "team": "growth"},
    )
    call(project, DAY + timedelta(hours=9))
    call(project, DAY + timedelta(hours=9, minutes=5))
    call(project, DAY + timedelta(days=1, hours=3))


def features(project):
    return sorted(
        UsageBucket.objects.filter(
            project=project, granularity=Granularity.DAY
        ).values_list("bucket_start", "feature", "calls")
    )


# The page


def test_the_page_shows_the_watermark_and_bucket_counts(
    login_as, members, project, two_days
):
    rollups.rollup_recent()

    response = login_as(members[Role.ADMIN]).get(url(project))

    assert response.status_code == 200
    state = response.context["state"]
    assert (state.hour_buckets, state.day_buckets, state.stale_hours) == (2, 2, 0)
    assert state.watermark == RollupWatermark.objects.get(project=project).updated_at
    assert state.current
    html = response.content.decode()
    assert "2 hour buckets, 2 day buckets" in html
    assert "(2026-12-01 to 2026-12-02)" in html
    assert 'name="since" value="2026-12-01"' in html
    assert 'name="until" value="2026-12-02"' in html
    assert "current</span>" in html


def test_the_page_says_when_calls_are_waiting(login_as, members, project, two_days):
    response = login_as(members[Role.ADMIN]).get(url(project))

    state = response.context["state"]
    assert state.watermark is None and not state.current
    assert "never rolled up" in response.content.decode()
    assert "waiting for the first roll-up" in response.content.decode()


def test_the_settings_navigation_links_the_page(login_as, members, project):
    html = login_as(members[Role.ADMIN]).get(reverse("api-keys", args=[project.slug]))

    assert f'href="{url(project)}"' in html.content.decode()


@pytest.mark.parametrize("role", BELOW_ADMIN)
def test_members_below_admin_can_neither_see_nor_rebuild(
    client, members, project, role
):
    client.force_login(members[role])

    assert client.get(url(project)).status_code == 403
    post = client.post(url(project), {"since": "2026-12-01", "until": "2026-12-02"})
    assert post.status_code == 403
    assert not BackgroundJob.objects.exists()


def test_an_admin_of_another_project_gets_a_404(client, other_member, project):
    client.force_login(other_member)

    assert client.get(url(project)).status_code == 404
    post = client.post(url(project), {"since": "2026-12-01", "until": "2026-12-02"})
    assert post.status_code == 404
    assert not BackgroundJob.objects.exists()


# Rebuilding a range


def test_an_admin_rebuilds_a_range_and_sees_the_job(
    login_as, members, project, two_days, django_capture_on_commit_callbacks
):
    client = login_as(members[Role.ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(project), {"since": "2026-12-01", "until": "2026-12-02"}
        )

    assert response.status_code == 302
    assert response["Location"] == url(project)
    job = BackgroundJob.objects.get(project=project)
    assert job.kind == JobKind.REBUILD_ROLLUPS
    assert job.params == {"since": "2026-12-01", "until": "2026-12-02"}
    assert job.created_by == members[Role.ADMIN]
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 2, 2)
    assert job.message == "Rebuilt 2 days (2026-12-01 to 2026-12-02): 2 hour buckets."
    assert features(project) == [
        (DAY, "search", 2),
        (DAY + timedelta(days=1), "search", 1),
    ]

    page = client.get(url(project))
    assert list(page.context["jobs"]) == [job]
    html = page.content.decode()
    assert f'id="job-{job.pk}"' in html
    assert "2026-12-01 to 2026-12-02" in html


def test_a_running_job_polls_its_progress(login_as, members, project):
    job = BackgroundJob.objects.create(
        project=project,
        kind=JobKind.REBUILD_ROLLUPS,
        status=JobStatus.RUNNING,
        params={"since": None, "until": None},
        done=1,
        total=4,
    )

    html = login_as(members[Role.ADMIN]).get(url(project)).content.decode()

    progress = reverse("job-progress", args=[project.slug, job.pk])
    assert f'hx-get="{progress}"' in html
    assert "1 of 4" in html
    assert "every day with calls" in html


def test_another_projects_jobs_are_not_listed(
    login_as, members, project, other_project
):
    BackgroundJob.objects.create(project=other_project, kind=JobKind.REBUILD_ROLLUPS)
    BackgroundJob.objects.create(project=project, kind=JobKind.REPRICE)

    response = login_as(members[Role.ADMIN]).get(url(project))

    assert list(response.context["jobs"]) == []
    assert "No rebuilds yet." in response.content.decode()


@pytest.mark.parametrize(
    ("since", "until", "field", "reason"),
    [
        ("", "2026-12-02", "since", "is required (YYYY-MM-DD)"),
        ("2026-12-01", "", "until", "is required (YYYY-MM-DD)"),
        ("yesterday", "2026-12-02", "since", "is not a date (YYYY-MM-DD): 'yesterday'"),
        (
            "2026-12-01",
            "2026-02-30",
            "until",
            "is not a date (YYYY-MM-DD): '2026-02-30'",
        ),
        (
            "2026-12-02",
            "2026-12-01",
            "until",
            "must not be before the first day 2026-12-02",
        ),
        (
            "2025-12-01",
            "2026-12-02",
            "until",
            "gives 367 days; a rebuild covers at most 366",
        ),
        (
            "9999-12-30",
            "9999-12-31",
            "since",
            "must be between 2000-01-01 and 2100-12-31",
        ),
        (
            "2026-12-01",
            "9999-12-31",
            "until",
            "must be between 2000-01-01 and 2100-12-31",
        ),
        (
            "0001-01-01",
            "0001-01-02",
            "since",
            "must be between 2000-01-01 and 2100-12-31",
        ),
    ],
)
def test_a_bad_range_is_refused_naming_the_field(
    login_as, members, project, since, until, field, reason
):
    response = login_as(members[Role.ADMIN]).post(
        url(project), {"since": since, "until": until}
    )

    assert response.status_code == 400
    assert response.context["errors"] == {field: reason}
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert "No rebuild was started" in html
    assert not BackgroundJob.objects.exists()


def test_a_rebuild_of_one_day_says_day(project, two_days):
    job = rollup_jobs.rollup_rebuild_start(
        project=project,
        since=datetime(2026, 12, 2).date(),
        until=datetime(2026, 12, 2).date(),
    )

    run_background_job.delay(str(job.pk))

    job.refresh_from_db()
    assert job.message == "Rebuilt 1 day (2026-12-02 to 2026-12-02): 1 hour bucket."


def test_a_whole_leap_year_is_allowed():
    assert rollup_jobs.rebuild_range_clean("2028-01-01", "2028-12-31") == (
        datetime(2028, 1, 1).date(),
        datetime(2028, 12, 31).date(),
    )


def test_the_celery_task_runs_a_rebuild_of_every_day(project, two_days):
    job = rollup_jobs.rollup_rebuild_start(project=project)

    run_background_job.delay(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 2, 2)
    assert len(features(project)) == 2


def test_a_rebuild_without_calls_says_so(project):
    job = rollup_jobs.rollup_rebuild_start(project=project)

    run_background_job.delay(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.DONE, "No LLM calls to roll up.")


# The feature key setting


def settings_form(**changes):
    return {
        "name": "Acme",
        "naming_rule": "",
        "protected_labels": "production",
        "required_approvals": "1",
        "feature_key": "feature",
        **changes,
    }


def test_changing_the_feature_key_rebuilds_the_roll_ups(
    login_as, members, project, two_days, django_capture_on_commit_callbacks
):
    rollups.rollup_recent()
    assert {feature for _, feature, _ in features(project)} == {"search"}

    with django_capture_on_commit_callbacks(execute=True):
        response = login_as(members[Role.ADMIN]).post(
            reverse("project-settings", args=[project.slug]),
            settings_form(feature_key=" team "),
        )

    assert response.status_code == 302
    assert response["Location"] == url(project)
    project.refresh_from_db()
    assert project.feature_key == "team"
    job = BackgroundJob.objects.get(project=project)
    assert job.params == {"since": None, "until": None}
    assert job.status == JobStatus.DONE
    assert features(project) == [
        (DAY, "growth", 2),
        (DAY + timedelta(days=1), "growth", 1),
    ]


def test_keeping_the_feature_key_starts_no_rebuild(login_as, members, project):
    response = login_as(members[Role.ADMIN]).post(
        reverse("project-settings", args=[project.slug]), settings_form()
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("project-settings", args=[project.slug])
    assert not BackgroundJob.objects.exists()


def test_the_settings_form_shows_the_feature_key(login_as, members, project):
    html = login_as(members[Role.ADMIN]).get(
        reverse("project-settings", args=[project.slug])
    )

    assert 'name="feature_key" value="feature"' in html.content.decode()
    assert "Changing it starts a rebuild" in html.content.decode()


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("team:name", "must not contain a colon"),
        ("k" * 101, "must be at most 100 characters (got 101)"),
    ],
)
def test_a_bad_feature_key_is_refused(login_as, members, project, key, reason):
    response = login_as(members[Role.ADMIN]).post(
        reverse("project-settings", args=[project.slug]), settings_form(feature_key=key)
    )

    assert response.status_code == 400
    assert response.context["errors"] == {"feature_key": reason}
    project.refresh_from_db()
    assert project.feature_key == "feature"
    assert not BackgroundJob.objects.exists()
