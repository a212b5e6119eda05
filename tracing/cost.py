"""The cost of one observation: reported, project price, public price, or unknown.

Usage keys are *net*: ``input`` excludes cache reads and writes, ``output``
excludes reasoning and audio tokens, each of which has its own key. So every
token is counted exactly once, whichever price table applies.
"""

import logging
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from .models import ModelPrice, Observation, PriceSource
from .price_patterns import PatternError, pattern_compile, pattern_search

logger = logging.getLogger(__name__)

CACHE_READ_KEYS = {
    "input_cached_tokens",
    "input_cache_read",
    "input_cached",
    "cache_read_input_tokens",
}
CACHE_WRITE_1H_KEYS = {"input_cache_creation_1h", "input_cache_write_1h"}
CACHE_WRITE_KEYS = {
    "input_cache_creation",
    "input_cache_creation_5m",
    "input_cache_write",
    "cache_creation_input_tokens",
} | CACHE_WRITE_1H_KEYS
AUDIO_INPUT_KEYS = {"input_audio_tokens", "input_audio"}
AUDIO_OUTPUT_KEYS = {"output_audio_tokens", "output_audio"}
REASONING_KEYS = {"output_reasoning_tokens", "output_reasoning"}
MILLION = Decimal(1_000_000)
# A price without start date is older than any dated one.
_MIN = datetime.min.replace(tzinfo=UTC)
DATE_SUFFIX = re.compile(r"[-@_:](\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")
_TOTAL_COST = Observation._meta.get_field("total_cost")
# The first total the column cannot hold (10**8 USD).
UNSTORABLE_COST = Decimal(10) ** (_TOTAL_COST.max_digits - _TOTAL_COST.decimal_places)


@dataclass(frozen=True)
class Cost:
    usage_details: dict
    cost_details: dict
    total_cost: Decimal | None
    price_source: str
    price_used: dict | None


@dataclass(frozen=True)
class ProjectPrice:
    """A ModelPrice with its pattern compiled, for matching many observations."""

    pattern: object  # a compiled ``regex`` pattern
    model_price: ModelPrice

    def matches(self, model):
        source = (
            f"model price {self.model_price.pk} "
            f"of project {self.model_price.project_id}"
        )
        return pattern_search(self.pattern, model, source=source)


def load_project_prices(project_id):
    """The project's price definitions, newest start date first."""
    prices = []
    for model_price in ModelPrice.objects.filter(project_id=project_id):
        try:
            prices.append(
                ProjectPrice(pattern_compile(model_price.match_pattern), model_price)
            )
        except PatternError:
            logger.warning(
                "Model price %s of project %s has an invalid pattern %r",
                model_price.pk,
                project_id,
                model_price.match_pattern,
            )
    return prices


def _as_decimal(value):
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _plain(amount):
    return format(amount.normalize(), "f") if amount else "0"


def with_total(usage):
    """Usage with ``total`` set to the sum of the other keys when missing."""
    if not usage or "total" in usage:
        return dict(usage or {})
    return {**usage, "total": sum(usage.values())}


def _reported_cost(usage, provided):
    costs = {key: _as_decimal(value) for key, value in provided.items()}
    total = costs.get("total")
    if total is None:
        total = sum(
            (value for key, value in costs.items() if key != "total"), Decimal(0)
        )
    details = {key: _plain(value) for key, value in costs.items()}
    details["total"] = _plain(total)
    return Cost(
        usage, details, total, PriceSource.REPORTED, {"source": PriceSource.REPORTED}
    )


def _matching_price(project_prices, model, start_time):
    best = None
    for candidate in project_prices:
        start = candidate.model_price.start_date
        if start is not None and start_time is not None and start > start_time:
            continue
        if not candidate.matches(model):
            continue
        if best is None or (start or _MIN) > (best.model_price.start_date or _MIN):
            best = candidate
    return best


def _base_key(usage_key):
    """The price a derived key falls back to when it has none of its own."""
    if usage_key in REASONING_KEYS or usage_key in AUDIO_OUTPUT_KEYS:
        return "output"
    if usage_key.startswith("output"):
        return "output"
    if usage_key.startswith("input") or "cache" in usage_key:
        return "input"
    return None


def _alias_keys(usage_key):
    """The canonical keys whose price also prices ``usage_key``, best first.

    Providers name the same tokens differently (Anthropic's
    ``cache_read_input_tokens`` are OpenAI's cached input tokens), and a
    project sets one price for them under the canonical name.
    """
    if usage_key in CACHE_READ_KEYS:
        return ["input_cached_tokens"]
    if usage_key in CACHE_WRITE_1H_KEYS:
        return ["input_cache_creation_1h", "input_cache_creation"]
    if usage_key in CACHE_WRITE_KEYS:
        return ["input_cache_creation"]
    if usage_key in AUDIO_INPUT_KEYS:
        return ["input_audio_tokens"]
    if usage_key in AUDIO_OUTPUT_KEYS:
        return ["output_audio_tokens"]
    if usage_key in REASONING_KEYS:
        return ["output_reasoning_tokens"]
    return []


def _price_key(usage_key, prices):
    """The key of ``prices`` that prices ``usage_key``, or None."""
    for key in [usage_key, *_alias_keys(usage_key), _base_key(usage_key)]:
        if key in prices:
            return key
    return None


def _project_cost(usage, project_price):
    model_price = project_price.model_price
    prices = {key: _as_decimal(value) for key, value in model_price.prices.items()}
    details, applied = {}, {}
    for key, count in usage.items():
        if key == "total" and "total" not in prices:
            continue
        price_key = _price_key(key, prices)
        if price_key is None:
            continue
        details[key] = prices[price_key] * count
        applied[key] = _plain(prices[price_key])
    total = sum(details.values(), Decimal(0))
    used = {
        "source": PriceSource.PROJECT,
        "modelId": str(model_price.pk),
        "modelName": model_price.model_name,
        "matchPattern": model_price.match_pattern,
        "startDate": model_price.start_date.isoformat()
        if model_price.start_date
        else None,
        "unit": model_price.unit,
        "prices": applied,
    }
    cost_details = {key: _plain(value) for key, value in details.items()}
    cost_details["total"] = _plain(total)
    return Cost(usage, cost_details, total, PriceSource.PROJECT, used)


def public_usage(usage):
    """Net usage keys as genai-prices' Usage, whose input includes cache tokens."""
    totals = {"input": 0, "output": 0}
    counts = {
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "output_reasoning_tokens": 0,
    }
    for key, count in usage.items():
        if key == "total":
            continue
        side = _base_key(key) or key
        if side not in totals:
            continue
        totals[side] += count
        if key in CACHE_READ_KEYS:
            counts["cache_read_tokens"] += count
        elif key in CACHE_WRITE_KEYS:
            counts["cache_write_tokens"] += count
            if key in CACHE_WRITE_1H_KEYS:
                counts["cache_write_1h_tokens"] += count
        elif key in AUDIO_INPUT_KEYS:
            counts["input_audio_tokens"] += count
        elif key in AUDIO_OUTPUT_KEYS:
            counts["output_audio_tokens"] += count
        elif key in REASONING_KEYS:
            counts["output_reasoning_tokens"] += count
    if not (totals["input"] or totals["output"]):
        return None
    values = {key: value for key, value in counts.items() if value}
    # Imported here: the price table costs each process ~10 MiB, and only the
    # worker prices anything.
    from genai_prices import Usage

    return Usage(input_tokens=totals["input"], output_tokens=totals["output"], **values)


def _model_candidates(model):
    """(model ref, provider) pairs to try: as sent, prefix stripped, date stripped."""
    provider, _, bare = model.rpartition("/")
    refs = [(model, None)] if not provider else [(bare, provider), (bare, None)]
    undated = [(DATE_SUFFIX.sub("", ref), hint) for ref, hint in refs]
    return refs + [pair for pair in undated if pair not in refs and pair[0]]


def _lookup_public_price(usage, model, start_time):
    from genai_prices import calc_price

    for ref, provider in _model_candidates(model):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return calc_price(
                    usage,
                    ref,
                    provider_id=provider,
                    genai_request_timestamp=start_time,
                )
        except (LookupError, ValueError):
            continue
    return None


def _tier_price(tiered, input_tokens):
    """The price a tiered genai-prices price charges for a prompt this size.

    Crossing a tier re-prices every token (genai-prices' threshold model).
    """
    applied = tiered.base
    for tier in tiered.tiers:
        if input_tokens > tier.start:
            applied = tier.price
    return applied


def _public_result(public, model, start_time):
    from genai_prices.types import TieredPrices

    result = _lookup_public_price(public, model, start_time)
    if result is None:
        return None
    prices = {}
    for key, value in vars(result.model_price).items():
        if isinstance(value, TieredPrices):
            value = _tier_price(value, public.input_tokens or 0)
        if isinstance(value, Decimal):
            prices[key] = _plain(value)
    used = {
        "source": PriceSource.PUBLIC,
        "provider": result.provider.id,
        "model": result.model.id,
        "prices": prices,
        "unit": "USD per million tokens",
    }
    linear = all(
        isinstance(value, Decimal) or value is None
        for key, value in vars(result.model_price).items()
        if not key.startswith("_")
    )
    return result, used, linear


@lru_cache(maxsize=4096)
def _public_unit_prices(model, day, keys):
    """USD per token for each net usage key, from genai-prices, or None.

    Prices without tiers are linear in the token counts, so one calculation
    per key (a million tokens of that kind) gives a price that then applies
    to any count: the same figures genai-prices computes, at a fraction of
    the cost per observation. Tiered prices return None and are computed
    in full every time.
    """
    found = None
    unit_prices = {}
    for key in keys:
        public = public_usage({key: MILLION})
        if public is None:
            continue
        computed = _public_result(public, model, day)
        if computed is None:
            return None
        result, used, linear = computed
        if not linear:
            return None
        found = used
        unit_prices[key] = result.total_price / MILLION
    return (found, unit_prices) if found else None


def _public_cost(usage, model, start_time):
    priced = {key: count for key, count in usage.items() if key != "total"}
    day = (start_time or datetime.now(UTC)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    linear = _public_unit_prices(model, day, tuple(sorted(priced)))
    if linear is not None:
        used, unit_prices = linear
        details = {
            key: unit_prices[key] * count
            for key, count in priced.items()
            if key in unit_prices
        }
        total = sum(details.values(), Decimal(0))
        cost_details = {key: _plain(value) for key, value in details.items()}
        cost_details["total"] = _plain(total)
        return Cost(usage, cost_details, total, PriceSource.PUBLIC, used)
    public = public_usage(usage)
    computed = public and _public_result(public, model, start_time)
    if not computed:
        return None
    result, used, _ = computed
    details = {
        "input": _plain(result.input_price),
        "output": _plain(result.output_price),
        "total": _plain(result.total_price),
    }
    return Cost(usage, details, result.total_price, PriceSource.PUBLIC, used)


def observation_cost(*, model, usage, provided_cost, start_time, project_prices):
    """Price one observation. ``project_prices`` comes from load_project_prices.

    A total too large to store leaves the observation unpriced: written, it
    would fail the whole batch the observation came in.
    """
    cost = _priced(model, usage, provided_cost, start_time, project_prices)
    if cost.total_cost is not None and cost.total_cost >= UNSTORABLE_COST:
        logger.warning(
            "Cost %s USD of a %s call is too large to store; left unpriced",
            cost.total_cost,
            model,
        )
        return Cost(cost.usage_details, {}, None, PriceSource.UNKNOWN, None)
    return cost


def _priced(model, usage, provided_cost, start_time, project_prices):
    usage = with_total(usage)
    if provided_cost:
        return _reported_cost(usage, provided_cost)
    if model and usage:
        project_price = _matching_price(project_prices, model, start_time)
        if project_price is not None:
            return _project_cost(usage, project_price)
        public = _public_cost(usage, model, start_time)
        if public is not None:
            return public
    return Cost(usage, {}, None, PriceSource.UNKNOWN, None)


def price_apply(row, project_prices):
    """Price ``row`` in place from what its client sent: ingestion and re-pricing.

    ``row`` is an Observation or an ingestion row with the same fields.
    """
    cost = observation_cost(
        model=row.model,
        usage=row.provided_usage_details,
        provided_cost=row.provided_cost_details,
        start_time=row.start_time,
        project_prices=project_prices,
    )
    row.usage_details = cost.usage_details
    row.cost_details = cost.cost_details
    row.total_cost = cost.total_cost
    row.price_source = cost.price_source
    row.price_used = cost.price_used


def public_price(model, at=None):
    """genai-prices' price of ``model`` at ``at`` (a ``price_used`` dict), or None.

    Tiered prices show their base tier, the price of a short prompt.
    """
    if not model:
        return None
    computed = _public_result(public_usage({"input": 1}), model, at)
    return computed[1] if computed else None


def project_price_for(project_id, model, at):
    """The project's ModelPrice that prices ``model`` at ``at``, or None."""
    found = _matching_price(load_project_prices(project_id), model, at)
    return found.model_price if found else None
