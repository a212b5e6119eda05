"""Legacy read API: traces, observations, sessions and v2 scores."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from prompts.models import Prompt, PromptVersion
from tracing.models import Observation, Score, Trace

T0 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def make_trace(project, trace_id, *, minutes=0, **fields):
    return Trace.objects.create(
        project=project,
        trace_id=trace_id,
        timestamp=T0 + timedelta(minutes=minutes),
        **fields,
    )


def make_observation(project, trace_id, observation_id, *, seconds=0, **fields):
    start = T0 + timedelta(seconds=seconds)
    values = {"start_time": start, "end_time": start + timedelta(seconds=2)}
    values.update(fields)
    return Observation.objects.create(
        project=project, trace_id=trace_id, observation_id=observation_id, **values
    )


@pytest.fixture
def data(project, other_project):
    prompt = Prompt.objects.create(project=project, name="quiz", type="text")
    version = PromptVersion.objects.create(prompt=prompt, number=3, content="x")
    make_trace(
        project, "t1", name="quiz", user_id="ann", session_id="s1", tags=["a", "b"]
    )
    make_trace(
        project,
        "t2",
        minutes=10,
        name="chat",
        user_id="bob",
        session_id="s1",
        environment="prod",
        tags=["b"],
    )
    make_trace(project, "t3", minutes=20, name="quiz", user_id="ann")
    make_observation(
        project,
        "t1",
        "g1",
        type="GENERATION",
        model="gpt-4o-mini",
        prompt_name="quiz",
        prompt_version_number=3,
        prompt_version=version,
        completion_start_time=T0 + timedelta(milliseconds=250),
        usage_details={"input": 10, "output": 5, "total": 15},
        cost_details={"input": "0.001", "output": "0.002", "total": "0.003"},
        total_cost=Decimal("0.003"),
        price_source="project",
        price_used={
            "source": "project",
            "modelId": "m1",
            "prices": {"input": "0.0001", "output": "0.0004"},
        },
    )
    make_observation(project, "t1", "s1-span", seconds=1, total_cost=Decimal("0.001"))
    make_observation(project, "t2", "g2", seconds=600, type="GENERATION")
    Score.objects.create(
        project=project,
        score_id="sc1",
        trace_id="t1",
        name="quality",
        value=0.9,
        data_type="NUMERIC",
        timestamp=T0,
    )
    Score.objects.create(
        project=project,
        score_id="sc2",
        trace_id="t2",
        name="tone",
        string_value="ok",
        data_type="CATEGORICAL",
        timestamp=T0 + timedelta(minutes=10),
    )
    make_trace(other_project, "theirs", name="quiz", session_id="s1")
    make_observation(other_project, "theirs", "their-obs")
    Score.objects.create(
        project=other_project,
        score_id="their-score",
        trace_id="theirs",
        name="quality",
        value=1,
        data_type="NUMERIC",
        timestamp=T0,
    )
    return version


def ids(response):
    return [item["id"] for item in response.json()["data"]]


def test_trace_list_is_newest_first_with_rollups(
    api, data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        response = api.get("/api/public/traces")

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == ["t3", "t2", "t1"]
    assert body["meta"] == {"page": 1, "limit": 50, "totalItems": 3, "totalPages": 1}
    t1 = body["data"][2]
    assert sorted(t1["observations"]) == ["g1", "s1-span"]
    assert t1["scores"] == ["sc1"]
    assert t1["totalCost"] == pytest.approx(0.004)
    assert t1["latency"] == 3.0
    assert t1["htmlPath"] == "/p/acme/traces/t1/"
    assert t1["tags"] == ["a", "b"]


def test_the_trace_list_does_not_grow_queries_with_rows(
    api, data, project, django_assert_max_num_queries
):
    for index in range(30):
        make_trace(project, f"bulk-{index}", minutes=30 + index)
        make_observation(project, f"bulk-{index}", f"bulk-obs-{index}")

    with django_assert_max_num_queries(8):
        response = api.get("/api/public/traces?limit=100")

    assert response.json()["meta"]["totalItems"] == 33


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("userId=ann", ["t3", "t1"]),
        ("name=chat", ["t2"]),
        ("sessionId=s1", ["t2", "t1"]),
        ("tags=b", ["t2", "t1"]),
        ("tags=a&tags=b", ["t1"]),
        ("environment=prod", ["t2"]),
        ("promptName=quiz", ["t1"]),
        ("fromTimestamp=2026-12-03T18:05:00Z", ["t3", "t2"]),
        ("toTimestamp=2026-12-03T18:05:00%2B00:00", ["t1"]),
        ("page=2&limit=2", ["t1"]),
    ],
)
def test_trace_filters(api, data, query, expected):
    response = api.get(f"/api/public/traces?{query}")

    assert response.status_code == 200
    assert ids(response) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("page=x", "page"),
        ("fromTimestamp=yesterday", "fromTimestamp"),
        ("toTimestamp=2026-12-03T18:05:00", "toTimestamp"),
    ],
)
def test_bad_filter_values_are_a_400_naming_the_field(api, data, query, field):
    response = api.get(f"/api/public/traces?{query}")

    assert response.status_code == 400
    assert field in response.json()["message"]


def test_trace_detail_has_observations_and_scores(
    api, data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = api.get("/api/public/traces/t1")

    body = response.json()
    assert response.status_code == 200
    assert body["id"] == "t1"
    assert [o["id"] for o in body["observations"]] == ["g1", "s1-span"]
    assert [s["id"] for s in body["scores"]] == ["sc1"]
    assert body["totalCost"] == pytest.approx(0.004)


def test_another_project_s_trace_is_a_404(api, data):
    response = api.get("/api/public/traces/theirs")

    assert response.status_code == 404
    assert "theirs" in response.json()["message"]


def test_observation_view_shape(api, data, project):
    response = api.get("/api/public/observations/g1")

    assert response.status_code == 200
    view = response.json()
    assert view["traceId"] == "t1"
    assert view["type"] == "GENERATION"
    assert (view["promptName"], view["promptVersion"]) == ("quiz", 3)
    assert view["promptId"] == str(data.id)
    assert view["latency"] == 2.0
    assert view["timeToFirstToken"] == 0.25
    assert view["calculatedTotalCost"] == 0.003
    assert view["calculatedInputCost"] == 0.001
    assert view["costDetails"] == {"input": 0.001, "output": 0.002, "total": 0.003}
    assert view["usage"] == {"input": 10, "output": 5, "total": 15, "unit": "TOKENS"}
    assert view["usageDetails"] == {"input": 10, "output": 5, "total": 15}
    assert (view["inputPrice"], view["outputPrice"]) == (0.0001, 0.0004)
    assert view["modelId"] == "m1"
    assert view["startTime"] == "2026-12-03T18:00:00Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("traceId=t1", ["s1-span", "g1"]),
        ("type=GENERATION", ["g2", "g1"]),
        ("name=missing", []),
        ("userId=bob", ["g2"]),
        ("promptName=quiz", ["g1"]),
        ("fromStartTime=2026-12-03T18:00:01Z", ["g2", "s1-span"]),
        ("toStartTime=2026-12-03T18:00:01Z", ["g1"]),
    ],
)
def test_observation_filters(api, data, query, expected):
    response = api.get(f"/api/public/observations?{query}")

    assert response.status_code == 200
    assert ids(response) == expected


def test_observation_list_does_not_leak_or_n_plus_one(
    api, data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        response = api.get("/api/public/observations")

    assert "their-obs" not in ids(response)
    assert response.json()["meta"]["totalItems"] == 3


def test_a_bad_observation_type_is_a_400(api, data):
    response = api.get("/api/public/observations?type=BANANA")

    assert response.status_code == 400
    assert "type" in response.json()["message"]


def test_another_project_s_observation_is_a_404(api, data):
    assert api.get("/api/public/observations/their-obs").status_code == 404


def test_sessions_list_and_detail(api, data, project):
    listing = api.get("/api/public/sessions")
    detail = api.get("/api/public/sessions/s1")

    assert listing.status_code == 200
    assert listing.json()["data"] == [
        {
            "id": "s1",
            "createdAt": "2026-12-03T18:00:00Z",
            "projectId": str(project.id),
            "environment": "default",
        }
    ]
    assert listing.json()["meta"]["totalItems"] == 1
    assert [t["id"] for t in detail.json()["traces"]] == ["t1", "t2"]
    assert api.get("/api/public/sessions/nope").status_code == 404


def test_scores_v2_list_and_filters(api, data):
    everything = api.get("/api/public/v2/scores")
    by_name = api.get("/api/public/v2/scores?name=tone")
    by_user = api.get("/api/public/v2/scores?userId=ann")

    assert ids(everything) == ["sc2", "sc1"]
    assert ids(by_name) == ["sc2"]
    assert ids(by_user) == ["sc1"]
    assert by_name.json()["data"][0]["stringValue"] == "ok"


def test_the_other_project_sees_only_its_own(other_api, data):
    assert ids(other_api.get("/api/public/traces")) == ["theirs"]
    assert ids(other_api.get("/api/public/v2/scores")) == ["their-score"]
    assert other_api.get("/api/public/traces/t1").status_code == 404
    assert other_api.get("/api/public/observations/g1").status_code == 404
    assert (
        other_api.get("/api/public/sessions/s1").json()["traces"][0]["id"] == "theirs"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/public/traces",
        "/api/public/traces/t1",
        "/api/public/observations",
        "/api/public/observations/g1",
        "/api/public/sessions",
        "/api/public/sessions/s1",
        "/api/public/v2/scores",
    ],
)
def test_reads_need_a_key(data, path):
    assert Client().get(path).status_code == 401
