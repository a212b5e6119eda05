"""Exploring traces, sessions and end users: filters, pages, totals, the API."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from prompts.models import LabelMove, Prompt, PromptVersion
from tests.native_api import token_client
from tracing import conversations, explore, explore_views, views
from tracing.models import Granularity, Observation, Trace, UsageBucket
from workbench.models import Role

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def add_trace(project, trace_id, *, at, **fields):
    return Trace.objects.create(
        project=project, trace_id=trace_id, timestamp=at, **fields
    )


def add_call(trace, observation_id, *, cost, offset=0.0, duration=1.0, **fields):
    start = trace.timestamp + timedelta(seconds=offset)
    fields.setdefault("model", "gpt-4o-mini")
    return Observation.objects.create(
        project=trace.project,
        trace_id=trace.trace_id,
        observation_id=observation_id,
        type="GENERATION",
        start_time=start,
        end_time=start + timedelta(seconds=duration),
        usage_details={"input": 100, "output": 20},
        total_cost=cost,
        price_source="public" if cost is not None else "unknown",
        **fields,
    )


@pytest.fixture
def scene(project):
    """Four traces of one prompt whose production label moved from v1 to v2.

    t-old: v1 while production pointed at v1 (matches the label).
    t-mid: v2 after the move, an error, tag feature (matches the label).
    t-late: v1 after the move (production was v2 then: no label match).
    t-bare: no calls at all.
    """
    prompt = Prompt.objects.create(project=project, name="support/answer", type="text")
    for to_version, moved_at in ((1, T0 - timedelta(hours=10)), (2, T0)):
        move = LabelMove.objects.create(
            prompt=prompt, label="production", to_version=to_version, moved_by_name="a"
        )
        LabelMove.objects.filter(pk=move.pk).update(moved_at=moved_at)
    old = add_trace(
        project,
        "t-old",
        at=T0 - timedelta(hours=5),
        user_id="alice",
        session_id="s-1",
        metadata={"feature": "search"},
        tags=["feature:ignored"],
    )
    add_call(
        old,
        "o1",
        cost=Decimal("0.5"),
        duration=3,
        model="gpt-4o",
        prompt_name="support/answer",
        prompt_version_number=1,
    )
    mid = add_trace(
        project,
        "t-mid",
        at=T0 + timedelta(hours=1),
        user_id="bob",
        session_id="s-1",
        metadata={"feature": ""},
        tags=["beta", "feature:summary", "feature:other"],
    )
    add_call(
        mid,
        "m1",
        cost=Decimal("0.01"),
        duration=0.5,
        model="claude-sonnet",
        level="ERROR",
        prompt_name="support/answer",
        prompt_version_number=2,
    )
    late = add_trace(
        project,
        "t-late",
        at=T0 + timedelta(hours=2),
        user_id="alice",
        metadata={"feature": 7},
    )
    add_call(
        late,
        "l1",
        cost=Decimal("0.2"),
        duration=1,
        prompt_name="support/answer",
        prompt_version_number=1,
    )
    add_call(late, "l2", cost=Decimal("0.2"), offset=4, duration=2)
    add_trace(project, "t-bare", at=T0 + timedelta(hours=3))
    return project


def listed(client, project, query):
    response = client.get(reverse("trace-list", args=[project.slug]), query)
    assert response.status_code == 200
    return [trace.trace_id for trace in response.context["traces"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["t-bare", "t-late", "t-mid", "t-old"]),
        ({"from": "2026-03-10T12:00"}, ["t-bare", "t-late", "t-mid"]),
        ({"to": "2026-03-10T12:00"}, ["t-old"]),
        ({"from": "2026-03-10T13:00", "to": "2026-03-10T14:00"}, ["t-mid"]),
        ({"prompt": "support/answer"}, ["t-late", "t-mid", "t-old"]),
        ({"prompt": "support/answer", "version": "1"}, ["t-late", "t-old"]),
        ({"prompt": "support/answer", "label": "production"}, ["t-mid", "t-old"]),
        ({"prompt": "support/answer", "label": "staging"}, []),
        (
            {"prompt": "support/answer", "label": "production", "version": "1"},
            ["t-old"],
        ),
        ({"model": "gpt-4o"}, ["t-old"]),
        ({"model": "gpt-4o-mini"}, ["t-late"]),
        ({"user": "alice"}, ["t-late", "t-old"]),
        ({"session": "s-1"}, ["t-mid", "t-old"]),
        ({"feature": "search"}, ["t-old"]),
        ({"feature": "summary"}, ["t-mid"]),
        ({"feature": "7"}, ["t-late"]),
        ({"feature": "ignored"}, []),
        ({"errors": "1"}, ["t-mid"]),
        ({"cost_above": "0.39"}, ["t-late", "t-old"]),
        ({"cost_above": "0.4"}, ["t-old"]),
        ({"cost_above": "0"}, ["t-late", "t-mid", "t-old"]),
        ({"latency_above": "2.9"}, ["t-late", "t-old"]),
        ({"latency_above": "5.9"}, ["t-late"]),
        ({"latency_above": "6"}, []),
        ({"model": "gpt-4o-mini", "user": "alice", "cost_above": "0.1"}, ["t-late"]),
    ],
)
def test_each_filter_lists_exactly_its_traces(
    login_as, members, scene, query, expected
):
    client = login_as(members[Role.VIEWER])

    assert listed(client, scene, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"prompt": "support/answer", "version": "1"}, ["t-late", "t-old"]),
        ({"prompt": "support/answer", "label": "production"}, ["t-mid", "t-old"]),
        ({"model": "gpt-4o"}, ["t-old"]),
        ({"errors": "1"}, ["t-mid"]),
    ],
)
def test_common_values_are_checked_along_the_walk_with_the_same_result(
    login_as, members, scene, monkeypatch, query, expected
):
    # With no room for ids read first, every observation filter is an EXISTS.
    monkeypatch.setattr(explore, "OBSERVATIONS_FIRST_LIMIT", 0)
    client = login_as(members[Role.VIEWER])

    assert listed(client, scene, query) == expected
    sql = str(
        explore.filtered_traces(scene, explore.TraceFilters(model="gpt-4o")).query
    )
    assert "EXISTS" in sql


def test_the_feature_filter_reads_the_projects_feature_key(login_as, members, scene):
    scene.feature_key = "area"
    scene.save(update_fields=["feature_key"])
    Trace.objects.filter(trace_id="t-bare").update(
        metadata={"area": "billing"}, tags=["area:ignored"]
    )
    Trace.objects.filter(trace_id="t-old").update(tags=["x", "area:billing"])
    client = login_as(members[Role.VIEWER])

    assert listed(client, scene, {"feature": "billing"}) == ["t-bare", "t-old"]
    assert listed(client, scene, {"feature": "search"}) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"version": "two", "prompt": "p"}, "version: 'two' is not a whole number"),
        ({"version": "0", "prompt": "p"}, "version: '0' must be 1 or more"),
        ({"version": "2"}, "version: needs a prompt name as well"),
        ({"label": "production"}, "label: needs a prompt name as well"),
        ({"cost_above": "lots"}, "cost_above: 'lots' is not a number"),
        ({"cost_above": "-1"}, "cost_above: '-1' must be a number of 0 or more"),
        ({"cost_above": "NaN"}, "cost_above: 'NaN' must be a number of 0 or more"),
        ({"latency_above": "slow"}, "latency_above: 'slow' is not a number"),
        ({"from": "soon"}, "from: 'soon' is not a date or time"),
        ({"from": "2026-13-45"}, "from: '2026-13-45' is not a date or time"),
        (
            {"from": "2026-03-11", "to": "2026-03-10"},
            "to: must be after from",
        ),
        ({"before": "nonsense"}, "before: 'nonsense' is not a page cursor"),
    ],
)
def test_a_bad_filter_is_named_and_ignored(login_as, members, scene, query, message):
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("trace-list", args=[scene.slug]), query)

    assert response.status_code == 200
    problems = response.context["filters"].problems
    assert [problem for problem in problems if problem.startswith(message)], problems


def test_filtered_pages_cross_equal_timestamps_once(
    login_as, members, project, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    # Three per timestamp; all but t4 used gpt-4o.
    for index in range(9):
        trace = add_trace(project, f"t{index}", at=T0 - timedelta(seconds=index // 3))
        model = "other" if index == 4 else "gpt-4o"
        add_call(trace, f"c{index}", cost=None, model=model)
    client = login_as(members[Role.VIEWER])
    url = reverse("trace-list", args=[project.slug])

    pages = []
    response = client.get(url, {"model": "gpt-4o"})
    while True:
        pages.append([trace.trace_id for trace in response.context["traces"]])
        if not response.context["next_query"] or len(pages) > 6:
            break
        response = client.get(f"{url}?{response.context['next_query']}")

    # Newest first, the higher id first on a tie; ties straddle page edges.
    assert pages == [["t2", "t1"], ["t0", "t5"], ["t3", "t8"], ["t7", "t6"]]


def test_the_list_links_sessions_and_users_to_their_pages(login_as, members, scene):
    client = login_as(members[Role.VIEWER])

    html = client.get(reverse("trace-list", args=[scene.slug])).content.decode()

    assert reverse("session-detail", args=[scene.slug, "s-1"]) in html
    assert reverse("user-detail", args=[scene.slug, "alice"]) in html


# Sessions


ODD_SESSION = "chat/42 <b>&</b> ?x=1"


@pytest.fixture
def sessions(project):
    """Two sessions: ODD_SESSION (two turns, one of them unpriced) and s-2."""
    first = add_trace(
        project,
        "turn-1",
        at=T0,
        session_id=ODD_SESSION,
        user_id="carol",
        input=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": SCRIPT},
        ],
        output={"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
    )
    add_call(first, "a1", cost=Decimal("0.001234567891"), model="gpt-4o")
    add_call(first, "a2", cost=Decimal("0.000000000009"), model="gpt-4o-mini")
    second = add_trace(
        project,
        "turn-2",
        at=T0 + timedelta(minutes=5),
        session_id=ODD_SESSION,
        user_id="dave",
        input="plain question",
        output={"answer": SCRIPT},
    )
    add_call(second, "b1", cost=None, model="gpt-4o")
    other = add_trace(
        project, "s2-turn", at=T0 + timedelta(minutes=1), session_id="s-2"
    )
    add_call(other, "c1", cost=Decimal("2"))
    add_trace(project, "no-session", at=T0 + timedelta(hours=1))
    return project


def test_sessions_are_listed_by_latest_activity_with_totals(
    login_as, members, sessions
):
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("session-list", args=[sessions.slug]))

    rows = response.context["sessions"]
    assert [row.session_id for row in rows] == [ODD_SESSION, "s-2"]
    odd = rows[0]
    assert odd.turns == 2
    assert (odd.first_at, odd.last_at) == (T0, T0 + timedelta(minutes=5))
    assert odd.cost == Decimal("0.001234567900")
    assert odd.tokens == 360
    assert odd.users == ["carol", "dave"]
    assert odd.unpriced is True
    assert rows[1].cost == Decimal("2") and rows[1].unpriced is False
    html = response.content.decode()
    assert "chat/42 &lt;b&gt;&amp;&lt;/b&gt; ?x=1" in html
    assert "<b>&</b>" not in html


def test_session_pages_cross_equal_activity_times_once(
    login_as, members, project, monkeypatch
):
    monkeypatch.setattr(explore_views, "SESSION_PAGE_SIZE", 2)
    for index in range(5):
        add_trace(
            project,
            f"t{index}",
            at=T0 - timedelta(seconds=index // 3),
            session_id=f"s{index}",
        )
    client = login_as(members[Role.VIEWER])
    url = reverse("session-list", args=[project.slug])

    pages = []
    response = client.get(url)
    while True:
        pages.append([row.session_id for row in response.context["sessions"]])
        if not response.context["next_query"] or len(pages) > 5:
            break
        response = client.get(f"{url}?{response.context['next_query']}")

    assert pages == [["s2", "s1"], ["s0", "s4"], ["s3"]]


def test_the_session_walk_skips_sessions_of_earlier_pages(
    login_as, members, project, monkeypatch
):
    monkeypatch.setattr(explore_views, "SESSION_PAGE_SIZE", 2)
    monkeypatch.setattr(conversations, "SESSION_WALK_CHUNK", 2)
    # Seconds before T0 of each turn; s-d and s-c tie on their latest turn.
    turns = {"s-a": [0, 3], "s-b": [1, 4], "s-c": [2, 5], "s-d": [2]}
    for session_id, ages in turns.items():
        for age in ages:
            add_trace(
                project,
                f"{session_id}-{age}",
                at=T0 - timedelta(seconds=age),
                session_id=session_id,
            )
    client = login_as(members[Role.VIEWER])
    url = reverse("session-list", args=[project.slug])

    first = client.get(url)
    second = client.get(f"{url}?{first.context['next_query']}")

    rows = [*first.context["sessions"], *second.context["sessions"]]
    assert [(row.session_id, row.turns) for row in rows] == [
        ("s-a", 2),
        ("s-b", 2),
        ("s-d", 1),
        ("s-c", 2),
    ]
    assert second.context["next_query"] is None


def test_a_session_reads_as_a_conversation(login_as, members, sessions):
    client = login_as(members[Role.VIEWER])
    url = reverse("session-detail", args=[sessions.slug, ODD_SESSION])

    response = client.get(url)

    assert response.status_code == 200
    talk = response.context["conversation"]
    assert [turn.trace.trace_id for turn in talk.turns] == ["turn-1", "turn-2"]
    assert talk.cost == Decimal("0.001234567900")
    assert talk.tokens == 360
    first, second = talk.turns
    assert first.input == {
        "messages": [
            {"role": "system", "text": "Be brief."},
            {"role": "user", "text": SCRIPT},
        ]
    }
    assert first.output == {"messages": [{"role": "assistant", "text": "Hi."}]}
    assert first.figures.models == ["gpt-4o", "gpt-4o-mini"]
    assert first.figures.cost == Decimal("0.001234567900")
    assert first.figures.latency_seconds == 1.0
    assert second.input == {"text": "plain question"}
    assert second.figures.cost is None and second.figures.unpriced
    html = response.content.decode()
    assert SCRIPT not in html
    assert html.count(ESCAPED) == 2
    assert reverse("trace-detail", args=[sessions.slug, "turn-2"]) in html
    assert "$0.001235" in html


def test_a_session_of_another_project_is_not_found(
    login_as, members, sessions, other_project
):
    add_trace(other_project, "theirs", at=T0, session_id="theirs")
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("session-detail", args=[sessions.slug, "theirs"]))

    assert response.status_code == 404


# End users


def add_day(project, day, user_id, *, calls, cost, model="gpt-4o", tokens=100):
    UsageBucket.objects.create(
        project=project,
        granularity=Granularity.DAY,
        bucket_start=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        user_id=user_id,
        model=model,
        calls=calls,
        total_tokens=tokens,
        cost=cost,
    )


@pytest.fixture
def usage(sessions):
    day = date(2026, 3, 10)
    add_day(sessions, day, "carol", calls=2, cost=Decimal("0.25"))
    add_day(sessions, day, "carol", calls=1, cost=Decimal("0.5"), model="other")
    add_day(sessions, day + timedelta(days=2), "carol", calls=4, cost=Decimal("1"))
    add_day(sessions, day, "dave", calls=9, cost=Decimal("0.3"))
    add_day(sessions, day, "", calls=50, cost=Decimal("9"))
    # Hour buckets are not read: the day buckets already hold them.
    UsageBucket.objects.create(
        project=sessions,
        granularity=Granularity.HOUR,
        bucket_start=T0,
        user_id="carol",
        calls=2,
        cost=Decimal("0.25"),
    )
    # Outside the period asked for below.
    add_day(sessions, day - timedelta(days=1), "dave", calls=1, cost=Decimal("5"))
    return sessions


def test_users_are_listed_by_cost_in_the_period(login_as, members, usage):
    client = login_as(members[Role.VIEWER])

    response = client.get(
        reverse("user-list", args=[usage.slug]),
        {"from": "2026-03-10", "to": "2026-03-12"},
    )

    rows = [
        (row.user_id, row.calls, row.tokens, row.cost)
        for row in response.context["users"]
    ]
    assert rows == [
        ("carol", 7, 300, Decimal("1.75")),
        ("dave", 9, 100, Decimal("0.3")),
    ]


def test_a_users_chart_has_one_bar_per_day(login_as, members, usage):
    client = login_as(members[Role.VIEWER])
    url = reverse("user-detail", args=[usage.slug, "carol"])

    response = client.get(url, {"from": "2026-03-10", "to": "2026-03-13"})

    days = [(d.day.day, d.calls, d.cost) for d in response.context["days"]]
    assert days == [
        (10, 3, Decimal("0.75")),
        (11, 0, Decimal(0)),
        (12, 4, Decimal("1")),
        (13, 0, Decimal(0)),
    ]
    chart = response.context["chart"]
    assert [bar["height"] for bar in chart["bars"]] == [105.0, 0.0, 140.0, 0.0]
    assert [bar["x"] for bar in chart["bars"]] == [1.0, 181.0, 361.0, 541.0]
    assert response.context["total_cost"] == Decimal("1.75")
    assert [s.session_id for s in response.context["sessions"]] == [ODD_SESSION]
    assert [t.trace_id for t in response.context["traces"]] == ["turn-1"]
    html = response.content.decode()
    assert html.count('<rect class="bar"') == 2
    assert "2026-03-12: $1.000000, 4 calls" in html


def test_a_user_period_that_ends_before_it_starts_is_named(login_as, members, usage):
    client = login_as(members[Role.VIEWER])

    response = client.get(
        reverse("user-list", args=[usage.slug]),
        {"from": "2026-03-12", "to": "2026-03-10"},
    )

    assert response.context["problems"] == ["to: must not be before from; ignored."]


def test_an_unknown_user_is_not_found(login_as, members, usage):
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("user-detail", args=[usage.slug, "nobody"]))

    assert response.status_code == 404


# The trace header


def test_the_trace_header_lists_the_prompt_versions_used(login_as, members, scene):
    prompt = Prompt.objects.get(name="support/answer")
    PromptVersion.objects.create(prompt=prompt, number=1, content="x")
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("trace-detail", args=[scene.slug, "t-late"]))

    assert [(p["name"], p["number"]) for p in response.context["prompts_used"]] == [
        ("support/answer", 1)
    ]
    version_url = reverse("prompt-version", args=[scene.slug, "support/answer", 1])
    header = response.content.decode().split('class="prompts-used"')[1]
    assert f'href="{version_url}">support/answer v1</a>' in header.split("</dl>")[0]


# The native API


def api_url(name, project):
    return reverse(name, args=[project.slug])


def test_the_api_lists_sessions_and_reads_one_by_query_id(login_as, members, sessions):
    client = login_as(members[Role.VIEWER])

    listing = client.get(api_url("v1-sessions", sessions), {"limit": 1})
    second = client.get(
        api_url("v1-sessions", sessions),
        {"before": listing.json()["meta"]["nextCursor"]},
    )
    detail = client.get(api_url("v1-session", sessions), {"id": ODD_SESSION})

    assert listing.status_code == 200
    assert listing.json()["data"] == [
        {
            "id": ODD_SESSION,
            "turns": 2,
            "firstAt": "2026-03-10T12:00:00Z",
            "lastAt": "2026-03-10T12:05:00Z",
            "users": ["carol", "dave"],
            "totalCost": "0.001234567900",
            "totalTokens": 360,
            "hasUnpriced": True,
        }
    ]
    assert [row["id"] for row in second.json()["data"]] == ["s-2"]
    assert second.json()["meta"]["nextCursor"] is None
    body = detail.json()
    assert body["totalCost"] == "0.001234567900"
    assert [turn["traceId"] for turn in body["turns"]] == ["turn-1", "turn-2"]
    assert body["turns"][1]["input"] == "plain question"
    assert body["turns"][0]["models"] == ["gpt-4o", "gpt-4o-mini"]


def test_the_api_lists_users_and_reads_one(members, usage):
    client = token_client(members[Role.VIEWER])
    period = {"from": "2026-03-10", "to": "2026-03-12"}

    listing = client.get(api_url("v1-users", usage), period)
    detail = client.get(api_url("v1-user", usage), {**period, "id": "carol"})

    assert listing.status_code == 200
    assert [(r["id"], r["cost"]) for r in listing.json()["data"]] == [
        ("carol", "1.750000000000"),
        ("dave", "0.300000000000"),
    ]
    assert listing.json()["meta"] == {
        "from": "2026-03-10",
        "to": "2026-03-12",
        "truncated": False,
    }
    assert [(d["day"], d["calls"]) for d in detail.json()["days"]] == [
        ("2026-03-10", 3),
        ("2026-03-11", 0),
        ("2026-03-12", 4),
    ]


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("v1-sessions", {"limit": "0"}, "limit"),
        ("v1-sessions", {"before": "garbage"}, "before"),
        ("v1-session", {}, "id"),
        ("v1-users", {"from": "10/03/2026"}, "from"),
        ("v1-users", {"from": "2026-03-12", "to": "2026-03-10"}, "to"),
        ("v1-user", {"from": "2026-03-10"}, "id"),
    ],
)
def test_the_api_names_a_bad_parameter(login_as, members, usage, name, query, field):
    client = login_as(members[Role.VIEWER])

    response = client.get(api_url(name, usage), query)

    assert response.status_code == 400
    assert field in response.json()["details"], response.json()


@pytest.mark.parametrize("name", ["v1-sessions", "v1-session", "v1-users", "v1-user"])
@pytest.mark.parametrize("who", ["outsider", "other_member", *Role.values])
def test_the_api_is_open_to_members_only(
    login_as, members, outsider, other_member, usage, name, who
):
    people = {"outsider": outsider, "other_member": other_member, **members}
    client = login_as(people[who])

    some_id = ODD_SESSION if name == "v1-session" else "carol"
    response = client.get(api_url(name, usage), {"id": some_id})

    assert response.status_code == (404 if who in ("outsider", "other_member") else 200)
