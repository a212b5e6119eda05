"""The trace list and one trace: access, content, queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prompts.models import Prompt, PromptVersion
from tracing import rollups, views
from tracing.models import Observation, Score, Trace
from workbench.models import Role

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
NOW = timezone.now().replace(microsecond=0)


def add_trace(project, trace_id, *, at=None, **fields):
    return Trace.objects.create(
        project=project, trace_id=trace_id, timestamp=at or NOW, **fields
    )


def add_observation(trace, observation_id, *, offset=0.0, duration=1.0, **fields):
    start = trace.timestamp + timedelta(seconds=offset)
    fields.setdefault("type", "SPAN")
    return Observation.objects.create(
        project=trace.project,
        trace_id=trace.trace_id,
        observation_id=observation_id,
        start_time=start,
        end_time=start + timedelta(seconds=duration),
        **fields,
    )


def add_generation(trace, observation_id, *, cost, tokens=(100, 20), **fields):
    input_tokens, output_tokens = tokens
    fields.setdefault("model", "gpt-4o-mini")
    return add_observation(
        trace,
        observation_id,
        type="GENERATION",
        usage_details={"input": input_tokens, "output": output_tokens},
        total_cost=cost,
        price_source="unknown" if cost is None else "public",
        **fields,
    )


@pytest.fixture
def quiz_version(project):
    prompt = Prompt.objects.create(project=project, name="quiz/generator", type="text")
    return PromptVersion.objects.create(prompt=prompt, number=4, content="Q {{n}}")


@pytest.fixture
def interview(project, quiz_version):
    """A trace: a root span with a generation and a child span with another."""
    trace = add_trace(
        project,
        "trace-1",
        name="interview",
        user_id="candidate-007",
        session_id="session-42",
        tags=["beta"],
        environment="staging",
        input={"question": "Why?"},
        output={"answer": "Because."},
    )
    add_observation(trace, "root", name="handle-request", duration=2.5)
    add_generation(
        trace,
        "gen-a",
        name="ask-llm",
        parent_observation_id="root",
        offset=0.1,
        cost=Decimal("0.0016"),
        prompt_version=quiz_version,
        prompt_name="quiz/generator",
        prompt_version_number=4,
    )
    add_observation(
        trace, "child", name="rerank", parent_observation_id="root", offset=1
    )
    add_generation(
        trace,
        "gen-b",
        name="triage",
        parent_observation_id="child",
        offset=1.2,
        cost=None,
        model="acme-triage-7b",
        level="ERROR",
        status_message="RateLimitError: 429",
    )
    Score.objects.create(
        project=project,
        score_id="s1",
        trace_id="trace-1",
        name="helpfulness",
        value=0.75,
        data_type="NUMERIC",
        timestamp=NOW,
    )
    return trace


def trace_url(project, trace_id):
    return reverse("trace-detail", args=[project.slug, trace_id])


def page_urls(project):
    return [
        reverse("trace-list", args=[project.slug]),
        trace_url(project, "trace-1"),
    ]


# Access


def test_it_redirects_anonymous_users_to_login(client, project, interview):
    for url in page_urls(project):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_hides_the_pages_from_outsiders(login_as, outsider, project, interview):
    client = login_as(outsider)
    for url in page_urls(project):
        assert client.get(url).status_code == 404


def test_it_hides_the_pages_from_members_of_another_project(
    login_as, other_member, project, interview
):
    client = login_as(other_member)
    for url in page_urls(project):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", Role.values)
def test_every_role_can_read_the_pages(login_as, members, project, interview, role):
    client = login_as(members[role])
    for url in page_urls(project):
        assert client.get(url).status_code == 200, url


def test_another_projects_trace_of_the_same_id_is_not_shown(
    login_as, members, other_member, project, other_project, interview
):
    globex = add_trace(other_project, "trace-1", name="globex-secret")
    add_observation(globex, "root", name="globex-span")
    add_trace(other_project, "trace-only-globex", name="globex-only")
    client = login_as(members[Role.VIEWER])

    listing = client.get(reverse("trace-list", args=[project.slug])).content
    detail = client.get(trace_url(project, "trace-1")).content
    missing = client.get(trace_url(project, "trace-only-globex"))

    assert b"globex" not in listing
    assert b"interview" in detail
    assert b"globex" not in detail
    assert missing.status_code == 404
    # The observation ids are the same in both tenants; only Acme's are shown.
    assert b"handle-request" in detail


# The list


def test_the_list_shows_totals_per_trace(login_as, members, project, interview):
    priced = add_trace(project, "trace-2", at=NOW - timedelta(minutes=1), name="cheap")
    add_generation(priced, "gen-c", cost=Decimal("0.00025"), tokens=(40, 10))
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("trace-list", args=[project.slug]))

    rows = {trace.trace_id: trace for trace in response.context["traces"]}
    assert list(rows) == ["trace-1", "trace-2"]
    assert rows["trace-1"].observation_count == 4
    assert rows["trace-1"].total_tokens == 240
    assert rows["trace-1"].total_cost == Decimal("0.0016")
    assert rows["trace-1"].has_unpriced is True
    assert rows["trace-1"].latency_seconds == 2.5
    assert rows["trace-2"].total_tokens == 50
    assert rows["trace-2"].has_unpriced is False
    html = response.content.decode()
    assert '$0.001600 <span class="flag unpriced"' in html
    assert "$0.000250</td>" in html
    assert "candidate-007" in html
    assert "2.50s" in html
    assert '<span class="tag">beta</span>' in html


def test_a_trace_with_only_unpriced_generations_never_shows_zero_dollars(
    login_as, members, project
):
    trace = add_trace(project, "unpriced-only", name="triage-only")
    add_generation(trace, "g", cost=None, model="acme-triage-7b")
    client = login_as(members[Role.VIEWER])

    html = client.get(reverse("trace-list", args=[project.slug])).content.decode()

    assert "unpriced</span>" in html
    assert "$0" not in html


def test_a_failed_call_without_usage_is_not_flagged_unpriced(
    login_as, members, project
):
    trace = add_trace(project, "failed", name="failed-call")
    add_observation(
        trace,
        "g",
        type="GENERATION",
        model="gpt-4o",
        price_source="unknown",
        level="ERROR",
        status_message="APITimeoutError",
    )
    client = login_as(members[Role.VIEWER])

    listing = client.get(reverse("trace-list", args=[project.slug]))
    detail = client.get(trace_url(project, "failed"))
    rollups.rollup_observations(project_id=project.pk)
    spend = client.get(reverse("report-spend", args=[project.slug]))

    assert listing.context["traces"][0].has_unpriced is False
    assert "unpriced" not in listing.content.decode()
    assert detail.context["rows"][0]["unpriced"] is False
    assert "$0" not in detail.content.decode()
    assert spend.context["totals"].unpriced_calls == 0
    assert spend.context["lines"][0].row.calls == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"user": "candidate-007"}, ["trace-1"]),
        ({"session": "session-9"}, ["trace-2"]),
        ({"name": "INTERV"}, ["trace-1"]),
        ({"prompt": "quiz/generator"}, ["trace-1"]),
        ({"prompt": "quiz/generator", "version": "4"}, ["trace-1"]),
        ({"prompt": "quiz/generator", "version": "3"}, []),
        ({"errors": "1"}, ["trace-1"]),
        ({"from": (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}, ["trace-1"]),
        ({"to": (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}, ["trace-2"]),
    ],
)
def test_the_list_filters(login_as, members, project, interview, query, expected):
    other = add_trace(
        project, "trace-2", at=NOW - timedelta(hours=3), session_id="session-9"
    )
    add_generation(other, "gen-other", cost=Decimal("0.1"))
    client = login_as(members[Role.VIEWER])

    response = client.get(reverse("trace-list", args=[project.slug]), query)

    assert [trace.trace_id for trace in response.context["traces"]] == expected


def test_a_bad_filter_is_reported_and_ignored(login_as, members, project, interview):
    client = login_as(members[Role.VIEWER])

    response = client.get(
        reverse("trace-list", args=[project.slug]), {"from": "yesterday-ish"}
    )

    assert response.status_code == 200
    assert (
        "from: &#x27;yesterday-ish&#x27; is not a date or time; ignored."
        in response.content.decode()
    )
    assert [trace.trace_id for trace in response.context["traces"]] == ["trace-1"]


def test_keyset_pagination_walks_every_trace_once(
    login_as, members, project, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    # Pairs share a timestamp, so the id must break ties across page edges.
    for index in range(7):
        add_trace(project, f"t{index}", at=NOW - timedelta(seconds=index // 2))
    client = login_as(members[Role.VIEWER])
    url = reverse("trace-list", args=[project.slug])

    pages = []
    response = client.get(url)
    while True:
        pages.append([trace.trace_id for trace in response.context["traces"]])
        if not response.context["next_query"] or len(pages) > 5:
            break
        response = client.get(f"{url}?{response.context['next_query']}")

    # Newest first, the newer row first on a tie; t3 | t2 straddle a page edge.
    assert pages == [["t1", "t0", "t3"], ["t2", "t5", "t4"], ["t6"]]
    sql = str(views.filtered_traces(project, views.TraceFilters()).query)
    assert "OFFSET" not in sql.upper()


def test_the_next_page_link_keeps_the_filters(login_as, members, project, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    for index in range(3):
        add_trace(project, f"t{index}", at=NOW - timedelta(seconds=index), user_id="u")
    client = login_as(members[Role.VIEWER])
    url = reverse("trace-list", args=[project.slug])

    first = client.get(url, {"user": "u"})
    second = client.get(f"{url}?{first.context['next_query']}")

    assert first.context["next_query"].startswith("user=u&before=")
    assert [trace.trace_id for trace in second.context["traces"]] == ["t1"]
    next_href = second.context["next_query"].replace("&", "&amp;")
    assert f'href="?{next_href}"' in second.content.decode()


def test_the_list_needs_a_bounded_number_of_queries(
    login_as, members, project, django_assert_max_num_queries
):
    for index in range(40):
        trace = add_trace(project, f"t{index}", at=NOW - timedelta(seconds=index))
        add_observation(trace, f"s{index}")
        add_generation(trace, f"g{index}", parent_observation_id=f"s{index}", cost=None)
    client = login_as(members[Role.VIEWER])

    # The page's six, and the filter form's model and prompt suggestions.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("trace-list", args=[project.slug]))

    assert len(response.context["traces"]) == 40
    assert response.content.decode().count("unpriced</span>") == 40


# One trace


def test_the_detail_shows_the_observation_tree_in_order(
    login_as, members, project, interview
):
    client = login_as(members[Role.VIEWER])

    response = client.get(trace_url(project, "trace-1"))

    tree = [
        (row["observation"].observation_id, row["depth"])
        for row in response.context["rows"]
    ]
    assert tree == [("root", 0), ("gen-a", 1), ("child", 1), ("gen-b", 2)]
    html = response.content.decode()
    assert html.index("handle-request") < html.index("ask-llm") < html.index("rerank")
    assert html.index("rerank") < html.index("triage")
    assert 'data-depth="2"' in html


def test_the_detail_shows_usage_cost_prompt_and_errors(
    login_as, members, project, interview
):
    client = login_as(members[Role.VIEWER])

    html = client.get(trace_url(project, "trace-1")).content.decode()

    assert '<span class="token">input <b>100</b></span>' in html
    assert '<span class="token">output <b>20</b></span>' in html
    assert "$0.001600" in html
    assert 'title="No price known for this model">unpriced</span>' in html
    version_url = reverse("prompt-version", args=[project.slug, "quiz/generator", 4])
    assert f'href="{version_url}">quiz/generator v4</a>' in html
    assert "RateLimitError: 429" in html
    assert "+1.200s · 1.000s" in html
    assert "helpfulness" in html
    assert "0.75" in html
    assert "&quot;answer&quot;: &quot;Because.&quot;" in html
    assert "candidate-007" in html
    assert "session-42" in html


def test_the_detail_needs_a_bounded_number_of_queries(
    login_as, members, project, quiz_version, django_assert_max_num_queries
):
    trace = add_trace(project, "big")
    add_observation(trace, "root")
    for index in range(40):
        add_generation(
            trace,
            f"g{index}",
            parent_observation_id="root",
            offset=index / 10,
            cost=Decimal("0.001"),
            prompt_version=quiz_version,
        )
        Score.objects.create(
            project=project,
            score_id=f"s{index}",
            trace_id="big",
            name="ok",
            value=1,
            data_type="BOOLEAN",
            timestamp=NOW,
        )
    client = login_as(members[Role.VIEWER])

    # Session, user, project, membership, trace, observations, scores.
    with django_assert_max_num_queries(7):
        response = client.get(trace_url(project, "big"))

    assert len(response.context["rows"]) == 41
    # Each generation's link, and one in the header's prompt versions.
    assert response.content.decode().count("quiz/generator v4</a>") == 41
    assert response.context["total_cost"] == Decimal("0.040")


def test_a_prompt_link_falls_back_to_name_and_number(login_as, members, project):
    trace = add_trace(project, "t-fallback")
    add_generation(
        trace,
        "g",
        cost=Decimal("0.01"),
        prompt_name="old/prompt",
        prompt_version_number=2,
    )
    # Created after the call was ingested, so the observation is not linked.
    prompt = Prompt.objects.create(project=project, name="old/prompt", type="text")
    PromptVersion.objects.create(prompt=prompt, number=2, content="x")
    client = login_as(members[Role.VIEWER])

    html = client.get(trace_url(project, "t-fallback")).content.decode()

    version_url = reverse("prompt-version", args=[project.slug, "old/prompt", 2])
    assert f'href="{version_url}">old/prompt v2</a>' in html


def test_a_version_that_does_not_exist_is_named_without_a_link(
    login_as, members, project, other_project, quiz_version
):
    trace = add_trace(project, "t-unknown")
    add_generation(
        trace,
        "g",
        cost=None,
        prompt_name="quiz/generator",
        prompt_version_number=999,
    )
    # The same name and number in another project does not count.
    elsewhere = Prompt.objects.create(
        project=other_project, name="quiz/generator", type="text"
    )
    PromptVersion.objects.create(prompt=elsewhere, number=999, content="x")
    client = login_as(members[Role.VIEWER])

    html = client.get(trace_url(project, "t-unknown")).content.decode()

    assert (
        '<span class="prompt-ref muted">quiz/generator v999 (unknown version)</span>'
        in html
    )
    assert "/v/999/" not in html


def test_prompt_references_cost_one_query_for_the_whole_trace(
    login_as, members, project, quiz_version, django_assert_max_num_queries
):
    trace = add_trace(project, "t-many")
    for index in range(30):
        add_generation(
            trace,
            f"g{index}",
            cost=None,
            prompt_name="quiz/generator",
            prompt_version_number=4 if index % 2 else 900 + index,
        )
    client = login_as(members[Role.VIEWER])

    # Session, user, project, membership, trace, observations, versions, scores.
    with django_assert_max_num_queries(8):
        response = client.get(trace_url(project, "t-many"))

    html = response.content.decode()
    assert html.count("quiz/generator v4</a>") == 15 + 1  # and the header's
    assert html.count("(unknown version)") == 15


def test_a_prompt_name_no_url_can_carry_is_shown_as_text(login_as, members, project):
    prompt = Prompt.objects.create(project=project, name="a\nb", type="text")
    PromptVersion.objects.create(prompt=prompt, number=1, content="x")
    trace = add_trace(project, "t-odd")
    add_generation(trace, "g", cost=None, prompt_name="a\nb", prompt_version_number=1)
    client = login_as(members[Role.VIEWER])

    response = client.get(trace_url(project, "t-odd"))

    assert response.status_code == 200
    assert '<span class="prompt-ref muted">a\nb v1</span>' in response.content.decode()


def test_an_orphan_observation_is_shown_as_a_root(login_as, members, project):
    trace = add_trace(project, "t-orphan")
    add_observation(trace, "late-child", parent_observation_id="not-yet-arrived")
    client = login_as(members[Role.VIEWER])

    response = client.get(trace_url(project, "t-orphan"))

    assert [
        (r["observation"].observation_id, r["depth"]) for r in response.context["rows"]
    ] == [("late-child", 0)]


def test_trace_ids_with_slashes_reach_their_page(login_as, members, project):
    add_trace(project, "svc/2026/abc def", name="slashed")
    client = login_as(members[Role.VIEWER])

    response = client.get(trace_url(project, "svc/2026/abc def"))

    assert response.status_code == 200
    assert b"slashed" in response.content


def test_trace_text_is_escaped(login_as, members, project):
    trace = add_trace(
        project,
        "xss",
        name=SCRIPT,
        user_id=SCRIPT,
        tags=[SCRIPT],
        input={"html": SCRIPT},
        metadata={SCRIPT: 1},
    )
    add_generation(
        trace,
        "g",
        name=SCRIPT,
        model=SCRIPT,
        cost=None,
        output=SCRIPT,
        status_message=SCRIPT,
        level="ERROR",
    )
    rollups.rollup_observations(project_id=project.pk)
    client = login_as(members[Role.VIEWER])

    pages = [
        client.get(reverse("trace-list", args=[project.slug])),
        client.get(trace_url(project, "xss")),
        client.get(reverse("report-spend", args=[project.slug]) + "?by=model"),
    ]

    for page in pages:
        html = page.content.decode()
        assert SCRIPT not in html
        assert ESCAPED_SCRIPT in html


def test_the_prompt_version_of_a_generation_shows_its_review_status(
    login_as, members, project, interview, quiz_version
):
    quiz_version.review_status = "approved"
    quiz_version.save(update_fields=["review_status"])

    html = login_as(members[Role.VIEWER]).get(trace_url(project, "trace-1"))

    assert '<span class="review-badge review-approved"' in html.content.decode()
