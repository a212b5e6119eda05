"""GET /api/public/metrics/daily: figures from the roll-ups, or raw calls."""

import itertools

import pytest
from django.test import Client

from tracing.metrics import DailyFilters
from tracing.rollups import rollup_observations

URL = "/api/public/metrics/daily"
DAY_A = "2026-11-02"
DAY_B = "2026-11-03"


_event_ids = itertools.count(1)


def event(event_type, body):
    return {
        "id": f"ev-{next(_event_ids)}",
        "type": event_type,
        "timestamp": "2026-11-04T00:00:00Z",
        "body": body,
    }


def trace(trace_id, timestamp, **fields):
    return {"id": trace_id, "timestamp": timestamp, **fields}


def generation(gen_id, trace_id, start, *, model, usage=None, cost=None, **fields):
    body = {"id": gen_id, "traceId": trace_id, "startTime": start, "model": model}
    if usage:
        body["usageDetails"] = usage
    if cost:
        body["costDetails"] = cost
    return {**body, **fields}


BATCH = [
    (
        "trace-create",
        trace(
            "tA1",
            f"{DAY_A}T09:00:00Z",
            name="quiz",
            userId="ann",
            tags=["beta", "team:search"],
        ),
    ),
    (
        "trace-create",
        trace(
            "tA2",
            f"{DAY_A}T15:00:00Z",
            name="chat",
            userId="bob",
            tags=["beta"],
            environment="prod",
        ),
    ),
    ("trace-create", trace("tB1", f"{DAY_B}T10:00:00Z", name="quiz", userId="ann")),
    # A trace without calls still counts on its day.
    ("trace-create", trace("tB2", f"{DAY_B}T23:30:00Z", name="quiz", userId="bob")),
    (
        "generation-create",
        generation(
            "gA1",
            "tA1",
            f"{DAY_A}T09:00:01Z",
            model="gpt-4o",
            usage={"input": 100, "output": 20},
            cost={"input": 0.001, "output": 0.002},
        ),
    ),
    (
        "generation-create",
        generation(
            "gA2",
            "tA1",
            f"{DAY_A}T09:10:00Z",
            model="gpt-4o",
            usage={"input": 50, "output": 10},
            cost={"input": 0.0005, "output": 0.001},
        ),
    ),
    (
        "generation-create",
        generation(
            "gA3",
            "tA1",
            f"{DAY_A}T09:20:30Z",
            model="claude-3-5-haiku",
            usage={"input": 10, "output": 5},
            cost={"input": 0.0001, "output": 0.0002},
        ),
    ),
    # Spans are not calls: no model, tokens or cost.
    (
        "span-create",
        {"id": "sA", "traceId": "tA1", "startTime": f"{DAY_A}T09:00:00Z"},
    ),
    (
        "generation-create",
        generation(
            "gA4",
            "tA2",
            f"{DAY_A}T15:00:05Z",
            model="gpt-4o",
            usage={"input": 200, "output": 40},
            cost={"input": 0.002, "output": 0.004},
            environment="prod",
        ),
    ),
    # A failed call that named no model and used nothing.
    (
        "generation-create",
        generation("gA5", "tA2", f"{DAY_A}T15:30:00Z", model=None, environment="prod"),
    ),
    (
        "generation-create",
        generation(
            "gB1",
            "tB1",
            f"{DAY_B}T10:00:00Z",
            model="gpt-4o",
            usage={"input": 300, "output": 60},
            cost={"input": 0.003, "output": 0.006},
        ),
    ),
]


def model_row(model, calls, traces, input_tokens, output_tokens, cost):
    return {
        "model": model,
        "inputUsage": input_tokens,
        "outputUsage": output_tokens,
        "totalUsage": input_tokens + output_tokens,
        "countObservations": calls,
        "countTraces": traces,
        "totalCost": cost,
    }


def day_row(date, traces, calls, cost, usage):
    return {
        "date": date,
        "countTraces": traces,
        "countObservations": calls,
        "totalCost": cost,
        "usage": usage,
    }


ALL_DAY_A = day_row(
    DAY_A,
    2,
    5,
    0.0108,
    [
        model_row("gpt-4o", 3, 2, 350, 70, 0.0105),
        model_row("claude-3-5-haiku", 1, 1, 10, 5, 0.0003),
        model_row(None, 1, 1, 0, 0, 0.0),
    ],
)
ALL_DAY_B = day_row(DAY_B, 2, 1, 0.009, [model_row("gpt-4o", 1, 1, 300, 60, 0.009)])


@pytest.fixture
def ingest(post_json):
    def _ingest(events, client=None):
        batch = [event(kind, body) for kind, body in events]
        response = post_json("/api/public/ingestion", {"batch": batch}, client)
        assert response.status_code == 207
        assert response.json()["errors"] == []

    return _ingest


@pytest.fixture
def data(ingest, project):
    ingest(BATCH)
    rollup_observations(project_id=project.pk)


def get(api, **query):
    response = api.get(URL, query)
    assert response.status_code == 200, response.json()
    return response.json()


def test_days_newest_first_with_exact_figures_per_model(api, data):
    body = get(api)

    assert body == {
        "data": [ALL_DAY_B, ALL_DAY_A],
        "meta": {"page": 1, "limit": 50, "totalItems": 2, "totalPages": 1},
    }


def test_pages_of_days(api, data):
    first = get(api, limit=1)
    second = get(api, limit=1, page=2)
    past_the_end = get(api, limit=1, page=3)

    assert first["data"] == [ALL_DAY_B]
    assert second["data"] == [ALL_DAY_A]
    assert past_the_end["data"] == []
    for page, body in enumerate((first, second, past_the_end), start=1):
        assert body["meta"] == {
            "page": page,
            "limit": 1,
            "totalItems": 2,
            "totalPages": 2,
        }


def test_no_data_is_an_empty_page(api, project):
    assert get(api) == {
        "data": [],
        "meta": {"page": 1, "limit": 50, "totalItems": 0, "totalPages": 0},
    }


def test_user_filter(api, data):
    body = get(api, userId="ann")

    assert body["data"] == [
        day_row(DAY_B, 1, 1, 0.009, [model_row("gpt-4o", 1, 1, 300, 60, 0.009)]),
        day_row(
            DAY_A,
            1,
            3,
            0.0048,
            [
                model_row("gpt-4o", 2, 1, 150, 30, 0.0045),
                model_row("claude-3-5-haiku", 1, 1, 10, 5, 0.0003),
            ],
        ),
    ]


def test_environment_filter_lists_only_days_with_matches(api, data):
    body = get(api, environment="prod")

    assert body["data"] == [
        day_row(
            DAY_A,
            1,
            2,
            0.006,
            [
                model_row("gpt-4o", 1, 1, 200, 40, 0.006),
                model_row(None, 1, 1, 0, 0, 0.0),
            ],
        )
    ]
    assert body["meta"]["totalItems"] == 1
    # A comma-separated value is a list, as in Langfuse.
    assert get(api, environment="prod,default")["data"] == [ALL_DAY_B, ALL_DAY_A]


def test_trace_name_filter(api, data):
    body = get(api, traceName="quiz")

    assert body["data"] == [
        day_row(DAY_B, 2, 1, 0.009, [model_row("gpt-4o", 1, 1, 300, 60, 0.009)]),
        day_row(
            DAY_A,
            1,
            3,
            0.0048,
            [
                model_row("gpt-4o", 2, 1, 150, 30, 0.0045),
                model_row("claude-3-5-haiku", 1, 1, 10, 5, 0.0003),
            ],
        ),
    ]


def test_tags_filter_needs_every_tag(api, data):
    only_a_with_both = day_row(
        DAY_A,
        1,
        3,
        0.0048,
        [
            model_row("gpt-4o", 2, 1, 150, 30, 0.0045),
            model_row("claude-3-5-haiku", 1, 1, 10, 5, 0.0003),
        ],
    )

    assert get(api, tags="beta")["data"] == [ALL_DAY_A]
    assert get(api, tags="beta,team:search")["data"] == [only_a_with_both]
    repeated = api.get(f"{URL}?tags=beta&tags=team:search").json()
    assert repeated["data"] == [only_a_with_both]
    assert get(api, tags="nobody")["meta"]["totalItems"] == 0


def test_window_on_the_hour(api, data):
    body = get(
        api, fromTimestamp=f"{DAY_A}T09:00:00Z", toTimestamp=f"{DAY_A}T15:00:00Z"
    )

    assert body["data"] == [
        day_row(
            DAY_A,
            1,
            3,
            0.0048,
            [
                model_row("gpt-4o", 2, 1, 150, 30, 0.0045),
                model_row("claude-3-5-haiku", 1, 1, 10, 5, 0.0003),
            ],
        )
    ]


def test_window_inside_an_hour_and_with_an_offset(api, data):
    # 09:15 UTC, written in UTC+2; gA3 at 09:20:30 is in, gA1 and gA2 are not.
    body = get(
        api,
        fromTimestamp=f"{DAY_A}T11:15:00+02:00",
        toTimestamp=f"{DAY_A}T16:00:00Z",
    )

    assert body["data"] == [
        day_row(
            DAY_A,
            1,
            3,
            0.0063,
            [
                model_row("gpt-4o", 1, 1, 200, 40, 0.006),
                model_row("claude-3-5-haiku", 1, 1, 10, 5, 0.0003),
                model_row(None, 1, 1, 0, 0, 0.0),
            ],
        )
    ]


def test_a_whole_hour_of_an_offset_that_is_not_whole_in_utc(api, data):
    # 15:00+05:30 is 09:30 UTC, inside an hour bucket: gA1 to gA3 are out.
    body = get(
        api,
        fromTimestamp=f"{DAY_A}T15:00:00+05:30",
        toTimestamp=f"{DAY_A}T16:00:00Z",
    )

    assert body["data"] == [
        day_row(
            DAY_A,
            1,
            2,
            0.006,
            [
                model_row("gpt-4o", 1, 1, 200, 40, 0.006),
                model_row(None, 1, 1, 0, 0, 0.0),
            ],
        )
    ]


def test_open_ended_windows(api, data):
    since_b = get(api, fromTimestamp=f"{DAY_B}T00:00:00Z")
    until_b = get(api, toTimestamp=f"{DAY_B}T00:00:00Z")

    assert since_b["data"] == [ALL_DAY_B]
    assert until_b["data"] == [ALL_DAY_A]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"userId": "ann"},
        {"environment": "prod"},
        {"fromTimestamp": f"{DAY_A}T09:00:00Z", "toTimestamp": f"{DAY_A}T15:00:00Z"},
        {"fromTimestamp": f"{DAY_A}T15:00:00Z"},
    ],
)
def test_raw_calls_give_what_the_roll_ups_give(api, data, monkeypatch, query):
    from_buckets = get(api, **query)
    monkeypatch.setattr(
        DailyFilters, "answered_by_buckets", property(lambda filters: False)
    )

    assert get(api, **query) == from_buckets


def test_calls_not_rolled_up_yet_are_missing_but_traces_count(
    api, ingest, project, data
):
    ingest(
        [
            ("trace-create", trace("tB3", f"{DAY_B}T12:00:00Z")),
            (
                "generation-create",
                generation("gB2", "tB3", f"{DAY_B}T12:00:00Z", model="gpt-4o"),
            ),
        ]
    )

    before = get(api)["data"][0]
    assert (before["countTraces"], before["countObservations"]) == (3, 1)
    assert before["usage"][0]["countObservations"] == 1
    rollup_observations(project_id=project.pk)
    assert get(api)["data"][0] == day_row(
        DAY_B, 3, 2, 0.009, [model_row("gpt-4o", 2, 2, 300, 60, 0.009)]
    )


def test_another_projects_keys_see_only_their_own(
    api, other_api, other_project, data, ingest
):
    ingest(
        [
            ("trace-create", trace("theirs", f"{DAY_A}T08:00:00Z", userId="ann")),
            (
                "generation-create",
                generation(
                    "their-call",
                    "theirs",
                    f"{DAY_A}T08:00:00Z",
                    model="gpt-4o",
                    usage={"input": 7, "output": 3},
                    cost={"input": 0.07, "output": 0.03},
                ),
            ),
        ],
        client=other_api,
    )
    rollup_observations(project_id=other_project.pk)

    assert get(other_api)["data"] == [
        day_row(DAY_A, 1, 1, 0.1, [model_row("gpt-4o", 1, 1, 7, 3, 0.1)])
    ]
    assert get(api)["data"] == [ALL_DAY_B, ALL_DAY_A]
    assert get(other_api, userId="ann", traceName="quiz")["data"] == []


def test_without_keys_is_unauthorized(data):
    response = Client().get(URL)

    assert response.status_code == 401
    assert response.json()["error"] == "UnauthorizedError"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"fromTimestamp": "yesterday"}, "fromTimestamp"),
        ({"toTimestamp": "2026-11-02T00:00:00"}, "toTimestamp"),
        (
            {
                "fromTimestamp": f"{DAY_B}T00:00:00Z",
                "toTimestamp": f"{DAY_A}T00:00:00Z",
            },
            "toTimestamp",
        ),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(api, query, field):
    response = api.get(URL, query)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidRequestError"
    assert body["message"].startswith(f"Invalid request data: {field}: ")
    assert list(body["details"]) == [field]
