"""Cost: reported cost wins, then project prices, then genai-prices, else unknown."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import calc_price

from tracing.cost import (
    load_project_prices,
    observation_cost,
    public_price,
    public_usage,
)
from tracing.ingestion import normalise_usage_details
from tracing.model_prices import price_lines
from tracing.models import ModelPrice
from tracing.price_patterns import pattern_compile, pattern_search

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def cost(model, usage, *, provided=None, start=NOW, prices=()):
    return observation_cost(
        model=model,
        usage=usage,
        provided_cost=provided,
        start_time=start,
        project_prices=list(prices),
    )


def test_openai_style_cached_tokens_are_charged_once_at_the_cache_price():
    # gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
    result = cost(
        "gpt-4o-mini", {"input": 600, "input_cached_tokens": 400, "output": 100}
    )

    assert result.total_cost == Decimal("0.00018")
    assert result.price_source == "public"
    assert result.cost_details == {
        "input": "0.00009",
        "input_cached_tokens": "0.00003",
        "output": "0.00006",
        "total": "0.00018",
    }
    assert result.usage_details["total"] == 1100
    assert result.price_used["model"] == "gpt-4o-mini"
    assert result.price_used["prices"]["cache_read_mtok"] == "0.075"


def test_anthropic_cache_reads_and_writes():
    # claude-3-5-sonnet: $3/M input, $0.30/M cache read, $3.75/M cache write, $15/M out
    result = cost(
        "claude-3-5-sonnet-20241022",
        {
            "input": 400,
            "cache_read_input_tokens": 400,
            "cache_creation_input_tokens": 200,
            "output": 100,
        },
    )

    assert result.total_cost == Decimal("0.00357")
    assert result.price_source == "public"


def test_reasoning_tokens_are_priced_as_output():
    # o3-mini: $1.10/M input, $4.40/M output (reasoning included)
    result = cost(
        "o3-mini", {"input": 1000, "output": 50, "output_reasoning_tokens": 50}
    )

    assert result.total_cost == Decimal("0.00154")


def test_a_reported_cost_wins_over_every_price():
    result = cost(
        "gpt-4o-mini",
        {"input": 1000, "output": 100},
        provided={"input": "0.5", "output": "0.25"},
    )

    assert result.price_source == "reported"
    assert result.total_cost == Decimal("0.75")
    assert result.cost_details == {"input": "0.5", "output": "0.25", "total": "0.75"}


def test_a_reported_total_is_kept_as_given():
    result = cost(None, {}, provided={"total": "0.001", "input": "0.0004"})

    assert result.total_cost == Decimal("0.001")


@pytest.fixture
def price(project):
    def _price(**kwargs):
        values = {
            "model_name": "gpt-4o-mini",
            "match_pattern": "(?i)^(openai/)?gpt-4o-mini$",
        }
        values.update(kwargs)
        return ModelPrice.objects.create(project=project, **values)

    return _price


def test_a_project_price_beats_genai_prices(project, price):
    price(
        prices={"input": 0.000001, "output": 0.000002, "input_cached_tokens": 0.0000005}
    )

    result = cost(
        "gpt-4o-mini",
        {"input": 1000, "output": 200, "input_cached_tokens": 400},
        prices=load_project_prices(project.id),
    )

    assert result.price_source == "project"
    assert result.total_cost == Decimal("0.0016")
    assert result.cost_details["input_cached_tokens"] == "0.0002"
    assert result.price_used["prices"] == {
        "input": "0.000001",
        "output": "0.000002",
        "input_cached_tokens": "0.0000005",
    }


def test_a_project_price_without_a_reasoning_price_charges_reasoning_as_output(
    project, price
):
    price(match_pattern="^my-model$", prices={"input": 0.001, "output": 0.002})

    result = cost(
        "my-model",
        {"input": 10, "output": 5, "output_reasoning_tokens": 5},
        prices=load_project_prices(project.id),
    )

    assert result.total_cost == Decimal("0.03")


def test_the_latest_price_not_after_the_observation_applies(project, price):
    price(start_date=datetime(2026, 1, 1, tzinfo=UTC), prices={"input": 0.001})
    price(start_date=datetime(2026, 6, 1, tzinfo=UTC), prices={"input": 0.002})
    price(start_date=datetime(2027, 1, 1, tzinfo=UTC), prices={"input": 0.004})
    price(start_date=None, prices={"input": 0.0005})
    prices = load_project_prices(project.id)

    assert cost("gpt-4o-mini", {"input": 10}, prices=prices).total_cost == Decimal(
        "0.02"
    )
    early = datetime(2026, 3, 1, tzinfo=UTC)
    assert cost(
        "gpt-4o-mini", {"input": 10}, start=early, prices=prices
    ).total_cost == (Decimal("0.01"))
    ancient = datetime(2025, 3, 1, tzinfo=UTC)
    assert cost(
        "gpt-4o-mini", {"input": 10}, start=ancient, prices=prices
    ).total_cost == Decimal("0.005")


def test_a_case_insensitive_pattern_and_provider_prefix_match(project, price):
    price(prices={"input": 0.001})

    result = cost(
        "OpenAI/GPT-4o-mini", {"input": 3}, prices=load_project_prices(project.id)
    )

    assert result.total_cost == Decimal("0.003")


def test_a_provider_prefix_is_stripped_for_genai_prices():
    result = cost("openai/gpt-4o-mini", {"input": 800, "output": 100})

    assert result.total_cost == Decimal("0.00018")
    assert result.price_used["provider"] == "openai"


def test_a_date_suffixed_model_name_finds_its_public_price():
    dated = cost("gpt-4o-mini-2024-07-18", {"input": 800, "output": 100})
    anthropic = cost(
        "anthropic/claude-3-5-sonnet-20241022", {"input": 1000, "output": 100}
    )

    assert dated.total_cost == Decimal("0.00018")
    assert anthropic.total_cost == Decimal("0.0045")


def test_an_unknown_model_has_no_cost_not_zero():
    result = cost("acme-private-llm-7", {"input": 1000, "output": 100})

    assert result.total_cost is None
    assert result.price_source == "unknown"
    assert result.cost_details == {}


def test_usage_without_a_model_has_no_cost():
    result = cost(None, {"input": 10})

    assert (result.total_cost, result.price_source) == (None, "unknown")


def test_net_usage_becomes_gross_genai_usage():
    usage = public_usage(
        {
            "input": 100,
            "input_cached_tokens": 30,
            "input_cache_creation_1h": 5,
            "input_audio_tokens": 7,
            "output": 20,
            "output_reasoning_tokens": 8,
            "total": 170,
        }
    )

    assert usage.input_tokens == 142
    assert usage.cache_read_tokens == 30
    assert usage.cache_write_tokens == 5
    assert usage.cache_write_1h_tokens == 5
    assert usage.input_audio_tokens == 7
    assert usage.output_tokens == 28
    assert usage.output_reasoning_tokens == 8


def test_an_invalid_stored_pattern_is_skipped(project, price):
    price(match_pattern="([", prices={"input": 1})

    assert load_project_prices(project.id) == []


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini", "claude-3-5-sonnet", "o3-mini", "gemini-1.5-pro"]
)
@pytest.mark.parametrize(
    "usage",
    [
        {"input": 1234, "output": 567},
        {"input": 90, "input_cached_tokens": 3000, "output": 7},
        {
            "input": 5,
            "cache_creation_input_tokens": 70,
            "output": 1,
            "output_reasoning_tokens": 40,
        },
        {"input": 250_000, "output": 10},
    ],
)
def test_cached_unit_prices_agree_with_a_full_genai_prices_calculation(model, usage):
    expected = calc_price(public_usage(usage), model, genai_request_timestamp=NOW)

    assert cost(model, usage).total_cost == expected.total_price


# Usage as providers send it, through ingestion's normalisation ---------------

OPENAI_USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 300,
    "total_tokens": 1300,
    "prompt_tokens_details": {"cached_tokens": 400, "audio_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 50},
}


def test_openai_usage_is_split_into_net_kinds_that_add_up_to_the_total():
    usage = normalise_usage_details(OPENAI_USAGE, "usage")

    assert usage == {
        "input": 500,
        "input_cached_tokens": 400,
        "input_audio_tokens": 100,
        "output": 50,
        "output_reasoning_tokens": 200,
        "output_audio_tokens": 50,
        "total": 1300,
    }


def test_openai_cached_audio_and_reasoning_tokens_are_each_charged_once():
    # gpt-4o: $2.50/M input (audio too: no audio price), $1.25/M cached, $10/M
    # output (reasoning and audio output too): 500×2.5 + 400×1.25 + 100×2.5
    # + 300×10 = 5000 µ$.
    result = cost("gpt-4o", normalise_usage_details(OPENAI_USAGE, "usage"))

    assert result.total_cost == Decimal("0.005")
    assert result.cost_details == {
        "input": "0.00125",
        "input_cached_tokens": "0.0005",
        "input_audio_tokens": "0.00025",
        "output": "0.0005",
        "output_reasoning_tokens": "0.002",
        "output_audio_tokens": "0.0005",
        "total": "0.005",
    }


def test_a_project_price_charges_each_openai_kind_at_its_own_price(project, price):
    price(
        match_pattern="^gpt-4o$",
        prices={
            "input": 0.000002,
            "input_cached_tokens": 0.000001,
            "input_audio_tokens": 0.00004,
            "output": 0.000008,
            "output_reasoning_tokens": 0.000006,
            "output_audio_tokens": 0.00008,
        },
    )

    result = cost(
        "gpt-4o",
        normalise_usage_details(OPENAI_USAGE, "usage"),
        prices=load_project_prices(project.id),
    )

    # 500×2 + 400×1 + 100×40 + 50×8 + 200×6 + 50×80 = 11000 µ$
    assert result.total_cost == Decimal("0.011")
    assert result.price_source == "project"


def test_anthropic_cache_reads_and_writes_outside_input_are_charged_exactly():
    # claude-3-5-sonnet: $3/M input, $0.30/M cache read, $3.75/M cache write,
    # $15/M output.
    result = cost(
        "anthropic/claude-3-5-sonnet-20241022",
        {
            "input": 400,
            "cache_read_input_tokens": 400,
            "cache_creation_input_tokens": 200,
            "output": 100,
        },
    )

    assert result.cost_details == {
        "input": "0.0012",
        "cache_read_input_tokens": "0.00012",
        "cache_creation_input_tokens": "0.00075",
        "output": "0.0015",
        "total": "0.00357",
    }
    assert result.price_used["provider"] == "anthropic"


def test_a_project_cache_price_also_prices_anthropic_cache_keys(project, price):
    price(
        match_pattern="^claude",
        prices={
            "input": 0.000003,
            "input_cached_tokens": 0.0000003,
            "input_cache_creation": 0.00000375,
            "output": 0.000015,
        },
    )

    result = cost(
        "claude-sonnet-4-5",
        {
            "input": 400,
            "cache_read_input_tokens": 400,
            "cache_creation_input_tokens": 200,
            "output": 100,
        },
        prices=load_project_prices(project.id),
    )

    assert result.total_cost == Decimal("0.00357")
    assert result.price_used["prices"]["cache_read_input_tokens"] == "0.0000003"


def test_a_reported_cost_overrides_a_project_price(project, price):
    price(prices={"input": 1, "output": 1})

    result = cost(
        "gpt-4o-mini",
        {"input": 10, "output": 10},
        provided={"total": "0.000042"},
        prices=load_project_prices(project.id),
    )

    assert (result.price_source, result.total_cost) == ("reported", Decimal("42E-6"))
    assert result.price_used == {"source": "reported"}


def test_a_long_prompt_crosses_into_the_dearer_tier_for_every_token():
    # gemini-2.5-pro: $1.25/M in, $10/M out up to 200k prompt tokens; above,
    # $2.50/M in and $15/M out, for all of them.
    short = cost("gemini-2.5-pro", {"input": 200_000, "output": 1000})
    long = cost("gemini-2.5-pro", {"input": 200_001, "output": 1000})

    assert short.total_cost == Decimal("0.26")
    assert long.total_cost == Decimal("0.5150025")
    assert short.price_used["prices"]["input_mtok"] == "1.25"
    assert long.price_used["prices"]["input_mtok"] == "2.5"
    assert long.price_used["prices"]["output_mtok"] == "15"


def test_cached_tokens_count_towards_the_prompt_size_of_a_tier():
    # 150k fresh + 60k cached = 210k prompt tokens: the upper tier, where a
    # cached token costs $0.25/M.
    result = cost(
        "gemini-2.5-pro",
        {"input": 150_000, "input_cached_tokens": 60_000, "output": 10},
    )

    assert result.total_cost == Decimal("0.39015")


@pytest.mark.parametrize(
    "model", ["gpt-4o-2024-08-06", "openai/gpt-4o", "openai/gpt-4o-2024-08-06"]
)
def test_dated_and_prefixed_names_find_the_base_model(model):
    result = cost(model, {"input": 1000, "output": 100})

    assert result.total_cost == Decimal("0.0035")
    assert (result.price_used["provider"], result.price_used["model"]) == (
        "openai",
        "gpt-4o",
    )


def test_a_project_pattern_can_match_dated_and_prefixed_names(project, price):
    price(
        match_pattern=r"(?i)^(openai/)?gpt-4o(-\d{4}-\d{2}-\d{2})?$",
        prices={"input": 0.000001},
    )
    prices = load_project_prices(project.id)

    for model in ("gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o-2024-08-06"):
        assert cost(model, {"input": 7}, prices=prices).total_cost == Decimal(
            "0.000007"
        )
    assert cost("gpt-4o-mini", {"input": 7}, prices=prices).price_source == "public"


def test_the_public_price_of_a_model_reads_per_million_tokens():
    found = public_price("gpt-4o-mini", NOW)

    assert found["model"] == "gpt-4o-mini"
    assert [str(line) for line in price_lines(found)] == [
        "input $0.15 / 1M tokens",
        "cache read $0.075 / 1M tokens",
        "output $0.60 / 1M tokens",
    ]
    assert public_price("acme-private-llm-7", NOW) is None


@pytest.mark.django_db
def test_a_catastrophic_pattern_times_out_as_not_matching_and_is_logged(
    project, caplog
):
    # Overlapping alternation backtracks exponentially on a near-match; a
    # worker pricing this call must move on to the next price.
    slow = ModelPrice.objects.create(
        project=project,
        model_name="slow",
        match_pattern="(a|a)*$",
        # Newer than the fallback: it would win if it matched.
        start_date=datetime(2025, 1, 1, tzinfo=UTC),
        prices={"input": 1},
    )
    ModelPrice.objects.create(
        project=project,
        model_name="fallback",
        match_pattern="^a+!$",
        prices={"input": 0.000002},
    )
    model = "a" * 40 + "!"
    caplog.set_level("WARNING", logger="tracing.price_patterns")

    result = cost(model, {"input": 1000}, prices=load_project_prices(project.id))

    assert result.price_source == "project"
    assert result.price_used["matchPattern"] == "^a+!$"
    assert result.total_cost == Decimal("0.002")
    warnings = [r for r in caplog.records if r.name == "tracing.price_patterns"]
    assert len(warnings) == 1
    assert f"model price {slow.pk} of project {project.id}" in warnings[0].message
    assert repr(model) in warnings[0].message


def test_pattern_search_matches_like_re_search():
    compiled = pattern_compile(r"(?i)^(openai/)?gpt-4o(-\d{4}-\d{2}-\d{2})?$")

    assert pattern_search(compiled, "OpenAI/GPT-4o-2024-08-06", source="test")
    assert not pattern_search(compiled, "gpt-4o-mini", source="test")
