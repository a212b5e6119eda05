"""A project's own model prices: what a definition may hold, and how prices read.

Prices are stored per unit (USD per token for ``TOKENS``), as Langfuse stores
them; people read and type them per million tokens.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from . import cost
from .models import PriceSource
from .price_patterns import PatternError, pattern_compile

UNITS = ["TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS"]
# Units small enough that a price reads better per million of them.
PER_MILLION_UNITS = {"TOKENS", "CHARACTERS"}
MILLION = Decimal(1_000_000)
# The usage keys the price form offers, in the order people think of them.
FORM_KEYS = {
    "input": "Input",
    "output": "Output",
    "input_cached_tokens": "Cached input (cache read)",
    "input_cache_creation": "Cache write",
    "input_cache_creation_1h": "Cache write, 1 hour",
    "output_reasoning_tokens": "Reasoning output",
    "input_audio_tokens": "Audio input",
    "output_audio_tokens": "Audio output",
    "total": "Total (every token at one price)",
}
# Every key tracing.cost prices on its own; other keys fall back to input or
# output, so a price for them would never be read.
PRICE_KEYS = (
    set(FORM_KEYS)
    | cost.CACHE_READ_KEYS
    | cost.CACHE_WRITE_KEYS
    | cost.AUDIO_INPUT_KEYS
    | cost.AUDIO_OUTPUT_KEYS
    | cost.REASONING_KEYS
)
PATTERN_MAX_LENGTH = 200
# A quantified group that itself holds an unbounded quantifier, as in
# "(a+)+" or "(\w*x)*": the shape that backtracks exponentially.
NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
PRICE_MAX_DIGITS = 14


class ModelPriceInputError(Exception):
    """A price definition that cannot be saved; ``field`` names the input."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def unit_scale(unit):
    """How many units a typed or shown price is for (a million tokens, one image)."""
    return MILLION if unit in PER_MILLION_UNITS else Decimal(1)


def unit_label(unit):
    name = (unit or "TOKENS").lower()
    return f"1M {name}" if unit_scale(unit) == MILLION else name.rstrip("s")


def pattern_check(pattern):
    """``pattern`` if it is a usable match pattern, else ModelPriceInputError."""
    if not pattern:
        raise ModelPriceInputError("match_pattern", "is required")
    if len(pattern) > PATTERN_MAX_LENGTH:
        raise ModelPriceInputError(
            "match_pattern", f"is longer than {PATTERN_MAX_LENGTH} characters"
        )
    try:
        pattern_compile(pattern)
    except PatternError as error:
        raise ModelPriceInputError(
            "match_pattern", f"is not a valid regular expression ({error})"
        ) from error
    if NESTED_QUANTIFIER.search(pattern):
        raise ModelPriceInputError(
            "match_pattern",
            "repeats a group that itself repeats, which can take minutes to "
            "match; write it without the nested repetition",
        )
    return pattern


def prices_check(prices):
    """``{usage key: Decimal USD per unit}`` checked, or ModelPriceInputError."""
    if not prices:
        raise ModelPriceInputError("prices", "need at least one price")
    checked = {}
    for key, value in prices.items():
        field = f"prices.{key}"
        if key not in PRICE_KEYS:
            known = ", ".join(sorted(PRICE_KEYS))
            raise ModelPriceInputError(field, f"is not a usage key ({known})")
        try:
            amount = Decimal(str(value))
        except ArithmeticError as error:
            raise ModelPriceInputError(field, "is not a number") from error
        if not amount.is_finite():
            raise ModelPriceInputError(field, "is not a number")
        if amount < 0:
            raise ModelPriceInputError(field, "must not be negative")
        if len(amount.normalize().as_tuple().digits) > PRICE_MAX_DIGITS:
            raise ModelPriceInputError(
                field, f"has more than {PRICE_MAX_DIGITS} significant digits"
            )
        checked[key] = amount
    if "total" in checked and len(checked) > 1:
        # tracing.cost would charge the tokens twice: once in total, once by kind.
        raise ModelPriceInputError(
            "prices.total", "cannot be combined with prices by usage key"
        )
    return checked


def stored_prices(prices):
    """Checked Decimal prices as the JSON numbers ModelPrice.prices holds.

    At most PRICE_MAX_DIGITS significant digits, so the float's shortest form
    is the decimal typed, and tracing.cost reads back exactly that.
    """
    return {key: float(amount) for key, amount in prices.items()}


def usd(amount):
    """``amount`` as dollars: at least cents, and every digit it has beyond."""
    amount = Decimal(amount).normalize()
    if amount.as_tuple().exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"${amount:f}"


@dataclass(frozen=True)
class PriceLine:
    key: str
    amount: Decimal
    per: str

    def __str__(self):
        return f"{self.key} {usd(self.amount)} / {self.per}"


def price_lines(price_used):
    """The prices applied to one observation, as ``PriceLine``s to show.

    Project prices are stored per unit and shown per million tokens;
    genai-prices gives ``<kind>_mtok`` prices per million already. Prices
    per thousand requests or searches are left out: they are not token
    prices and the page shows usage in tokens.
    """
    if not price_used or price_used.get("source") == PriceSource.REPORTED:
        return []
    prices = price_used.get("prices") or {}
    if price_used.get("source") == PriceSource.PROJECT:
        unit = price_used.get("unit") or "TOKENS"
        scale = unit_scale(unit)
        return [
            PriceLine(key, Decimal(str(value)) * scale, unit_label(unit))
            for key, value in prices.items()
        ]
    return [
        PriceLine(
            key.removesuffix("_mtok").replace("_", " "),
            Decimal(str(value)),
            "1M tokens",
        )
        for key, value in prices.items()
        if key.endswith("_mtok")
    ]


def price_note(observation):
    """What priced an observation, for its line on the trace page, or None.

    ``{"source", "title", "lines", "price_id", "model"}``: ``price_id`` is the
    project ModelPrice's id (a link to it), ``model`` the public table's entry.
    """
    source = observation.price_source
    if not source or (source == PriceSource.UNKNOWN and not observation.model):
        return None
    used = observation.price_used or {}
    model = used.get("model")
    if model and used.get("provider"):
        model = f"{used['provider']}/{model}"
    return {
        "source": source,
        "title": PriceSource(source).label,
        "lines": price_lines(used),
        "price_id": used.get("modelId"),
        "model": model,
    }
