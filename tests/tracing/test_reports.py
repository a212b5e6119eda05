"""The Reports pages (spend share, trends, unpriced) and their CSV exports,
read from usage buckets made here or rolled up from observations."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape

from prompts.models import Prompt, PromptVersion
from tracing import rollups, usage
from tracing.histograms import Histogram
from tracing.models import (
    Granularity,
    Level,
    Observation,
    ObservationType,
    PriceSource,
    Trace,
    UsageBucket,
)
from workbench.models import Role

pytestmark = pytest.mark.django_db

DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)
DEC_2 = DEC_1 + timedelta(days=1)
DEC_3 = DEC_1 + timedelta(days=2)
HOUR = timedelta(hours=1)
# Dec 1 22:00 to Dec 3 02:00: two edge hours, one whole day, two edge hours.
EDGES = {"from": "2026-12-01T22:00", "to": "2026-12-03T02:00"}


def bucket(project, start, *, granularity=Granularity.HOUR, **fields):
    fields.setdefault("calls", 1)
    fields.setdefault("cost", Decimal(0))
    return UsageBucket.objects.create(
        project=project, granularity=granularity, bucket_start=start, **fields
    )


def day_bucket(project, start, **fields):
    return bucket(project, start, granularity=Granularity.DAY, **fields)


@pytest.fixture
def edge_buckets(project, other_project):
    """Buckets in and around EDGES: what is outside or doubled must not count."""
    greet = {"prompt_name": "greet", "prompt_version": 1, "model": "gpt-4o"}
    quiz = {"prompt_name": "quiz", "prompt_version": 2, "model": "claude"}
    # Outside the window on either side.
    bucket(project, DEC_1 + 21 * HOUR, cost=Decimal("5"), **greet)
    bucket(project, DEC_3 + 2 * HOUR, cost=Decimal("5"), **greet)
    # The edge hours.
    bucket(
        project,
        DEC_1 + 22 * HOUR,
        cost=Decimal("0.001"),
        input_tokens=100,
        output_tokens=10,
        **greet,
    )
    bucket(project, DEC_1 + 23 * HOUR, cost=Decimal("0.0005"), errors=1, **quiz)
    bucket(project, DEC_3 + HOUR, cost=Decimal("0.0005"), calls=2, **greet)
    # Dec 2 as a day bucket, and one of its hours, which the day already holds.
    day_bucket(
        project,
        DEC_2,
        calls=3,
        cost=Decimal("0.0015"),
        input_tokens=300,
        output_tokens=30,
        **greet,
    )
    bucket(project, DEC_2 + 5 * HOUR, calls=3, cost=Decimal("0.0015"), **greet)
    day_bucket(project, DEC_2, calls=4, unpriced_calls=4, prompt_name="quiz")
    # Another project's spend in the same hours.
    bucket(other_project, DEC_1 + 22 * HOUR, cost=Decimal("9"), **greet)


def period(start, end, key="custom"):
    return usage.Period(key, start, end)


# Periods


NOW = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "start", "end"),
    [
        ({}, datetime(2026, 11, 27, 11, tzinfo=UTC), NOW.replace(hour=11, minute=0)),
        (
            {"period": "24h"},
            datetime(2026, 12, 3, 11, tzinfo=UTC),
            datetime(2026, 12, 4, 11, tzinfo=UTC),
        ),
        (
            {"period": "30d"},
            datetime(2026, 11, 4, 11, tzinfo=UTC),
            datetime(2026, 12, 4, 11, tzinfo=UTC),
        ),
        ({"period": "month"}, DEC_1, datetime(2026, 12, 4, 11, tzinfo=UTC)),
        # A date alone is a whole day; "to" includes its day.
        ({"from": "2026-12-01", "to": "2026-12-02"}, DEC_1, DEC_3),
        # Times are widened to whole hours.
        (
            {"from": "2026-12-01T22:40", "to": "2026-12-03T01:10"},
            DEC_1 + 22 * HOUR,
            DEC_3 + 2 * HOUR,
        ),
        (EDGES, DEC_1 + 22 * HOUR, DEC_3 + 2 * HOUR),
        # An offset is honoured; without "to" a custom window runs until now.
        (
            {"period": "custom", "from": "2026-12-02T01:00+02:00"},
            DEC_1 + 23 * HOUR,
            datetime(2026, 12, 4, 11, tzinfo=UTC),
        ),
    ],
)
def test_a_period_is_read_from_its_parameters(params, start, end):
    found = usage.parse_period(params, now=NOW)

    assert (found.start, found.end) == (start, end)


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"period": "week"}, "period", "'week' is not one of 24h, 7d, 30d, month"),
        ({"period": "custom"}, "from", "a custom period needs a start"),
        ({"to": "2026-12-02"}, "from", "a custom period needs a start"),
        ({"from": "yesterday"}, "from", "'yesterday' is not a date (YYYY-MM-DD)"),
        ({"from": "2026-02-30"}, "from", "'2026-02-30' is not a date"),
        ({"from": "2026-12-01", "to": "12/02/2026"}, "to", "'12/02/2026' is not"),
        (
            {"from": "2026-12-02T05:00", "to": "2026-12-02T05:00"},
            "to",
            "must be after from (2026-12-02 05:00 UTC",
        ),
        ({"from": "2026-12-03", "to": "2026-12-01"}, "to", "must be after from"),
        ({"from": "2025-01-01", "to": "2026-12-01"}, "to", "at most 400 days"),
    ],
)
def test_a_bad_period_names_its_parameter(params, field, reason):
    with pytest.raises(usage.PeriodError) as raised:
        usage.parse_period(params, now=NOW)

    assert raised.value.field == field
    assert reason in raised.value.reason


def test_a_period_of_two_days_or_less_is_charted_per_hour():
    assert period(DEC_1, DEC_3).granularity == Granularity.HOUR
    assert period(DEC_1, DEC_3 + HOUR).granularity == Granularity.DAY
    assert usage.period_starts(period(DEC_1 + 22 * HOUR, DEC_2 + HOUR)) == [
        DEC_1 + 22 * HOUR,
        DEC_1 + 23 * HOUR,
        DEC_2,
    ]
    assert usage.period_starts(period(DEC_1 + 22 * HOUR, DEC_3 + 72 * HOUR)) == [
        DEC_1 + timedelta(days=n) for n in range(5)
    ]


# Spend share


def test_spend_share_reads_edge_hours_and_whole_days_once(project, edge_buckets):
    rows = usage.spend_share(
        project, start=DEC_1 + 22 * HOUR, end=DEC_3 + 2 * HOUR, by="prompt"
    )
    totals = usage.share_totals(rows)

    assert [(r.key, r.calls, r.cost, r.exact_share) for r in rows] == [
        ("greet", 6, Decimal("0.003"), Decimal("0.8571428571428571428571428571")),
        ("quiz", 5, Decimal("0.0005"), Decimal("0.1428571428571428571428571429")),
    ]
    assert (totals.calls, totals.cost, totals.unpriced_calls, totals.errors) == (
        11,
        Decimal("0.0035"),
        4,
        1,
    )
    assert totals.exact_share == Decimal(1)
    assert rows[0].cost_per_call == Decimal("0.0005")
    # Quiz: 5 calls of which 4 unpriced, so its cost is over one priced call.
    assert rows[1].cost_per_call == Decimal("0.0005")


def test_spend_share_by_version_keys_rows_by_prompt_and_number(project, edge_buckets):
    rows = usage.spend_share(
        project, start=DEC_1 + 22 * HOUR, end=DEC_3 + 2 * HOUR, by="version"
    )

    assert [(r.key, r.calls, r.cost) for r in rows] == [
        (("greet", 1), 6, Decimal("0.003")),
        (("quiz", 2), 1, Decimal("0.0005")),
        (("quiz", None), 4, Decimal("0")),
    ]


def spend_url(project, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("report-spend", args=[project.slug]) + "?" + query


def test_the_spend_page_shows_shares_totals_and_links(
    login_as, members, project, edge_buckets
):
    prompt = Prompt.objects.create(project=project, name="greet", type="text")
    PromptVersion.objects.create(prompt=prompt, number=1, content="Hi")
    client = login_as(members[Role.VIEWER])

    by_prompt = client.get(spend_url(project, by="prompt", **EDGES))
    by_version = client.get(spend_url(project, by="version", **EDGES))

    assert by_prompt.status_code == 200
    html = by_prompt.content.decode()
    assert [line.label for line in by_prompt.context["lines"]] == ["greet", "quiz"]
    assert by_prompt.context["totals"].cost == Decimal("0.0035")
    assert 'href="/p/acme/prompts/greet/"' in html
    assert 'href="/p/acme/prompts/quiz/"' not in html
    assert "85.7%" in html and "14.3%" in html
    assert "<b>0.003500</b> USD total" in html
    assert "0.003000" in html and "0.000500" in html
    assert "4 unpriced calls" in html
    version_html = by_version.content.decode()
    assert 'href="/p/acme/prompts/greet/v/1/">v1</a>' in version_html
    assert ">v2</td>" in version_html


def test_the_spend_page_links_models_to_their_traces(
    login_as, members, project, edge_buckets
):
    response = login_as(members[Role.VIEWER]).get(
        spend_url(project, by="model", **EDGES)
    )

    html = response.content.decode()
    assert [(line.label, line.row.cost) for line in response.context["lines"]] == [
        ("gpt-4o", Decimal("0.003")),
        ("claude", Decimal("0.0005")),
        ("(no model)", Decimal("0")),
    ]
    assert 'href="/p/acme/traces/?model=gpt-4o"' in html


def user_page(slug, user_id):
    """The user page's address once that page exists, else None."""
    try:
        return reverse("user-detail", args=[slug, user_id])
    except NoReverseMatch:
        return None


def test_user_rows_link_to_the_user_page_when_there_is_one(login_as, members, project):
    day_bucket(project, DEC_2, user_id="u-1", cost=Decimal("2"))
    day_bucket(project, DEC_2, cost=Decimal("1"))

    response = login_as(members[Role.VIEWER]).get(
        spend_url(project, by="user", **EDGES)
    )

    labels = [line.label for line in response.context["lines"]]
    assert labels == ["u-1", "(no user)"]
    page = user_page(project.slug, "u-1")
    if page is not None:
        assert f'href="{page}"' in response.content.decode()


def test_the_spend_csv_is_the_table_to_the_databases_precision(
    login_as, members, project, edge_buckets
):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-spend-csv", args=[project.slug]),
        {"by": "prompt", **EDGES},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="spend-acme-by-prompt-20261201T22-20261203T02.csv"'
    )
    assert b"".join(response.streaming_content).decode() == (
        "prompt,share_percent,calls,input_tokens,output_tokens,cost_usd,"
        "cost_per_call_usd,errors,unpriced_calls\r\n"
        "greet,85.7143,6,400,40,0.003,0.0005,0,0\r\n"
        "quiz,14.2857,5,0,0,0.0005,0.0005,1,4\r\n"
        "Total,100,11,400,40,0.0035,0.0005,1,4\r\n"
    )


def test_the_spend_csv_rounds_cost_per_call_to_twelve_places(
    login_as, members, project
):
    # $0.01 over three calls is 0.00333... a call; $0.02 over three, 0.00666...
    bucket(project, DEC_2, cost=Decimal("0.01"), calls=3, prompt_name="a")
    bucket(project, DEC_2, cost=Decimal("0.02"), calls=3, prompt_name="b")

    response = login_as(members[Role.VIEWER]).get(
        reverse("report-spend-csv", args=[project.slug]),
        {"by": "prompt", "from": "2026-12-02T00:00", "to": "2026-12-02T02:00"},
    )

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[1:] == [
        "b,66.6667,3,0,0,0.02,0.006666666667,0,0",
        "a,33.3333,3,0,0,0.01,0.003333333333,0,0",
        "Total,100,6,0,0,0.03,0.005,0,0",
    ]


def test_the_spend_page_says_per_call_means_per_priced_call(
    login_as, members, project, edge_buckets
):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-spend", args=[project.slug]), {"by": "prompt", **EDGES}
    )

    assert (
        '<abbr title="Cost divided by the priced calls only: unpriced calls are '
        'left out">Per priced call</abbr>'
    ) in response.content.decode()


def test_the_version_csv_has_a_column_for_the_number(
    login_as, members, project, edge_buckets
):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-spend-csv", args=[project.slug]),
        {"by": "version", **EDGES},
    )

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("prompt,version,share_percent,")
    assert lines[1:] == [
        "greet,1,85.7143,6,400,40,0.003,0.0005,0,0",
        "quiz,2,14.2857,1,0,0,0.0005,0.0005,1,0",
        "quiz,,0,4,0,0,0,,0,4",
        "Total,,100,11,400,40,0.0035,0.0005,1,4",
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"by": "colour"}, "'colour' is not one of prompt, version, model"),
        ({"period": "custom", "from": "soon"}, "'soon' is not a date"),
        ({"from": "2026-12-03", "to": "2026-12-01"}, "must be after from"),
    ],
)
def test_bad_parameters_are_shown_on_the_period_chooser(
    login_as, members, project, params, message
):
    client = login_as(members[Role.VIEWER])

    page = client.get(reverse("report-spend", args=[project.slug]), params)
    export = client.get(reverse("report-spend-csv", args=[project.slug]), params)

    assert page.status_code == export.status_code == 200
    assert escape(message) in page.content.decode()
    assert export["Content-Type"].startswith("text/html")
    if "by" not in params:
        assert "lines" not in page.context


def test_the_spend_page_shows_nothing_of_another_project(
    login_as, members, project, other_project
):
    bucket(other_project, DEC_2, cost=Decimal("9"), prompt_name="secret")

    response = login_as(members[Role.VIEWER]).get(spend_url(project, **EDGES))

    assert response.context["lines"] == []
    assert "secret" not in response.content.decode()
    assert "No LLM calls in this period." in response.content.decode()


# From observations through the roll-up to the page


def llm_call(project, trace, start, *, model, cost, usage_details, prompt=None):
    return Observation.objects.create(
        project=project,
        trace_id=trace.trace_id,
        observation_id=f"{trace.trace_id}-{start:%H%M}-{model}",
        type=ObservationType.GENERATION,
        start_time=start,
        end_time=start + timedelta(seconds=2),
        model=model,
        level=Level.DEFAULT if usage_details else Level.ERROR,
        usage_details=usage_details,
        total_cost=cost,
        price_source=PriceSource.UNKNOWN if cost is None else PriceSource.PUBLIC,
        prompt_name=prompt[0] if prompt else "",
        prompt_version_number=prompt[1] if prompt else None,
    )


def test_rolled_up_calls_reach_the_spend_page_exactly(login_as, members, project):
    interview = Trace.objects.create(
        project=project,
        trace_id="t1",
        timestamp=DEC_2,
        user_id="candidate-7",
        metadata={"feature": "interviews"},
    )
    triage = Trace.objects.create(
        project=project, trace_id="t2", timestamp=DEC_2, metadata={"feature": "support"}
    )
    tokens = {"input": 1000, "output": 200}
    llm_call(
        project,
        interview,
        DEC_2 + 9 * HOUR,
        model="gpt-4o",
        cost=Decimal("0.0045"),
        usage_details=tokens,
        prompt=("interview/question", 2),
    )
    llm_call(
        project,
        interview,
        DEC_2 + 10 * HOUR,
        model="gpt-4o-mini",
        cost=Decimal("0.0015"),
        usage_details=tokens,
        prompt=("interview/question", 3),
    )
    llm_call(
        project,
        triage,
        DEC_2 + 10 * HOUR,
        model="acme-triage-7b",
        cost=None,
        usage_details=tokens,
    )
    # A failed call: no usage, so nothing to price and not "unpriced".
    llm_call(
        project, triage, DEC_2 + 11 * HOUR, model="gpt-4o", cost=None, usage_details={}
    )
    rollups.rollup_observations(project_id=project.pk)
    client = login_as(members[Role.VIEWER])
    day = {"from": "2026-12-02", "to": "2026-12-02"}

    by_model = client.get(spend_url(project, by="model", **day)).context
    by_feature = client.get(spend_url(project, by="feature", **day)).context
    unpriced = client.get(reverse("report-unpriced", args=[project.slug]), day)

    assert [
        (line.label, line.row.calls, line.row.cost, line.row.exact_share)
        for line in by_model["lines"]
    ] == [
        ("gpt-4o", 2, Decimal("0.0045"), Decimal("0.75")),
        ("gpt-4o-mini", 1, Decimal("0.0015"), Decimal("0.25")),
        ("acme-triage-7b", 1, Decimal("0"), Decimal("0")),
    ]
    assert by_model["lines"][0].row.errors == 1
    totals = by_model["totals"]
    assert (totals.calls, totals.cost, totals.unpriced_calls) == (
        4,
        Decimal("0.006"),
        1,
    )
    assert (totals.input_tokens, totals.output_tokens) == (3000, 600)
    assert [(line.label, line.row.cost) for line in by_feature["lines"]] == [
        ("interviews", Decimal("0.006")),
        ("support", Decimal("0")),
    ]
    assert [
        (m.model, m.unpriced_calls, m.calls, m.first_seen, m.last_seen)
        for m in unpriced.context["models"]
    ] == [("acme-triage-7b", 1, 1, DEC_2 + 10 * HOUR, DEC_2 + 11 * HOUR)]


# Trends


def test_trends_keep_the_top_series_and_add_up_the_rest(project):
    for index in range(10):
        bucket(
            project,
            DEC_2 + index * HOUR,
            model=f"m{index}",
            cost=Decimal(index + 1),
            calls=index + 1,
        )

    trend = usage.trend(project, period(DEC_2, DEC_3), by="model", top=8)

    assert trend.granularity == Granularity.HOUR
    assert len(trend.starts) == 24
    assert [s.key for s in trend.series] == [
        "m9",
        "m8",
        "m7",
        "m6",
        "m5",
        "m4",
        "m3",
        "m2",
        usage.OTHER,
    ]
    other = trend.series[-1]
    assert other.is_other
    assert other.costs[:3] == [Decimal(1), Decimal(2), Decimal(0)]
    assert other.calls[:3] == [1, 2, 0]
    assert sum(trend.cost_totals) == Decimal(55)


def test_day_trends_put_edge_hours_in_their_day(project):
    dec_4 = DEC_3 + timedelta(days=1)
    bucket(project, DEC_1 + 21 * HOUR, cost=Decimal("7"))
    bucket(project, DEC_1 + 23 * HOUR, cost=Decimal("0.25"))
    day_bucket(project, DEC_2, cost=Decimal("1.5"), calls=3)
    bucket(project, DEC_2 + HOUR, cost=Decimal("1.5"), calls=3)
    day_bucket(project, DEC_3, cost=Decimal("2"), calls=2)
    bucket(project, dec_4 + HOUR, cost=Decimal("0.5"))
    bucket(project, dec_4 + 2 * HOUR, cost=Decimal("7"))

    trend = usage.trend(project, period(DEC_1 + 22 * HOUR, dec_4 + 2 * HOUR))

    assert trend.granularity == Granularity.DAY
    assert trend.starts == [DEC_1, DEC_2, DEC_3, dec_4]
    assert trend.cost_totals == [
        Decimal("0.25"),
        Decimal("1.5"),
        Decimal("2"),
        Decimal("0.5"),
    ]
    assert trend.call_totals == [1, 3, 2, 1]


def test_latency_quantiles_merge_the_buckets_histograms(project):
    fast = [0.5, 0.6, 0.7, 0.8]
    slow = [2.0, 4.0, 8.0, 16.0]
    bucket(
        project,
        DEC_2,
        prompt_name="a",
        latency_histogram=Histogram.of(fast).to_dict(),
    )
    bucket(
        project,
        DEC_2,
        prompt_name="b",
        model="other",
        latency_histogram=Histogram.of(slow).to_dict(),
    )

    both = usage.trend(project, period(DEC_2, DEC_2 + 2 * HOUR)).latency
    only_a = usage.trend(project, period(DEC_2, DEC_2 + 2 * HOUR), prompt="a")

    merged = Histogram.of(fast + slow)
    assert both[0].count == 8
    assert (both[0].p50, both[0].p95, both[0].p99) == (
        merged.quantile(0.5),
        merged.quantile(0.95),
        merged.quantile(0.99),
    )
    assert both[0].p50 == pytest.approx(0.8, rel=0.01)
    # Nearest rank ceil(0.99 * 8) - 1 = 7: the slowest of the eight calls.
    assert both[0].p99 == pytest.approx(16.0, rel=0.01)
    assert (both[1].count, both[1].p50) == (0, None)
    assert only_a.latency[0].p99 == pytest.approx(0.8, rel=0.01)
    assert [s.key for s in only_a.series] == ["a"]


def test_the_trends_page_draws_labelled_charts_and_a_table(
    login_as, members, project, edge_buckets
):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-trends", args=[project.slug]), {"by": "model", **EDGES}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg viewBox="0 0 600 250" role="img"') == 3
    assert "<title>Dec 01 22:00 · gpt-4o: $0.001</title>" in html
    assert "Cost (USD)" in html and "Hour (UTC)" in html
    assert 'class="swatch" style="background: #4e79a7"></span>gpt-4o' in html
    assert "The charts' figures as a table" in html
    assert '<th scope="row" class="nowrap">2026-12-02 00:00</th>' in html


def test_the_trends_csv_lists_every_series_slot(login_as, members, project):
    bucket(project, DEC_2 + HOUR, model="gpt-4o", cost=Decimal("0.25"), calls=2)
    bucket(project, DEC_2 + HOUR, model="", cost=Decimal("0.5"), calls=1)

    response = login_as(members[Role.VIEWER]).get(
        reverse("report-trends-csv", args=[project.slug]),
        {"by": "model", "from": "2026-12-02T00:00", "to": "2026-12-02T03:00"},
    )

    assert response["Content-Disposition"] == (
        'attachment; filename="trends-acme-by-model-20261202T00-20261202T03.csv"'
    )
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "period_start_utc,model,cost_usd,calls",
        "2026-12-02T00:00:00Z,(no model),0,0",
        "2026-12-02T01:00:00Z,(no model),0.5,1",
        "2026-12-02T02:00:00Z,(no model),0,0",
        "2026-12-02T00:00:00Z,gpt-4o,0,0",
        "2026-12-02T01:00:00Z,gpt-4o,0.25,2",
        "2026-12-02T02:00:00Z,gpt-4o,0,0",
    ]


def test_the_trends_page_refuses_a_dimension_it_cannot_chart(
    login_as, members, project
):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-trends", args=[project.slug]), {"by": "user"}
    )

    assert "&#x27;user&#x27; is not one of prompt, model, feature" in (
        response.content.decode()
    )


# Unpriced models


def price_page(slug):
    try:
        return reverse("model-price-add", args=[slug])
    except NoReverseMatch:
        return None


def test_the_unpriced_page_lists_models_without_a_price(login_as, members, project):
    bucket(project, DEC_2 + 3 * HOUR, model="acme-7b", calls=5, unpriced_calls=2)
    bucket(project, DEC_2 + 7 * HOUR, model="acme-7b", calls=1, unpriced_calls=1)
    bucket(project, DEC_2 + 8 * HOUR, model="acme-7b", calls=4)
    bucket(project, DEC_2 + 9 * HOUR, model="gpt-4o", calls=9, cost=Decimal("1"))

    response = login_as(members[Role.VIEWER]).get(
        reverse("report-unpriced", args=[project.slug]),
        {"from": "2026-12-02", "to": "2026-12-02"},
    )

    [model] = response.context["models"]
    assert (model.model, model.unpriced_calls, model.calls) == ("acme-7b", 3, 10)
    assert (model.first_seen, model.last_seen) == (DEC_2 + 3 * HOUR, DEC_2 + 8 * HOUR)
    html = response.content.decode()
    assert "2026-12-02 03:00" in html and "2026-12-02 08:00" in html
    page = price_page(project.slug)
    if page is None:
        assert "Add a price" not in html
    else:
        assert f'href="{page}?model=acme-7b">Add a price</a>' in html


# Navigation


def test_the_reports_tabs_name_the_pages_that_exist(login_as, members, project):
    response = login_as(members[Role.VIEWER]).get(
        reverse("report-trends", args=[project.slug])
    )

    html = response.content.decode()
    assert (
        f'<a href="{reverse("report-trends", args=["acme"])}" class="active" '
        'aria-current="page">Trends</a>' in html
    )
    assert f'<a href="{reverse("report-spend", args=["acme"])}">Spend</a>' in html
    assert f'<a href="{reverse("report-unpriced", args=["acme"])}">Unpriced' in html
    assert (
        f'<a href="{reverse("report-spend", args=["acme"])}" class="active" '
        'aria-current="page">Reports</a>' in html
    )


@pytest.mark.parametrize("name", ["report-spend", "report-trends", "report-unpriced"])
def test_a_report_needs_a_bounded_number_of_queries(
    login_as, members, project, name, django_assert_max_num_queries
):
    for index in range(40):
        day_bucket(
            project,
            DEC_2,
            prompt_name=f"p{index % 12}",
            model=f"m{index % 9}",
            user_id=f"u{index}",
            unpriced_calls=index % 2,
            latency_histogram=Histogram.of([index + 1]).to_dict(),
        )
    client = login_as(members[Role.VIEWER])

    with django_assert_max_num_queries(8):
        response = client.get(reverse(name, args=[project.slug]), EDGES)

    assert response.status_code == 200
