"""What counts as an LLM call, its usage keys, and the unpriced rule.

The roll-ups, the trace list and the reports all read these, so a call is
counted and priced the same way everywhere. Cost reports read the roll-ups
(``tracing.usage``); the trace list reads raw observations
(``tracing.explore``).
"""

from django.db.models import (
    FloatField,
    Q,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from .models import ObservationType, PriceSource

# Usage keys as ingestion normalises them: cached and cache-creation tokens are
# kept apart from "input", reasoning and audio tokens apart from "output", so
# the sum of the parts is the whole and nothing is counted twice.
INPUT_USAGE_KEYS = (
    "input",
    "input_cached_tokens",
    "input_cache_creation",
    "input_audio_tokens",
)
OUTPUT_USAGE_KEYS = ("output", "output_reasoning_tokens", "output_audio_tokens")
LLM_CALL_TYPES = (ObservationType.GENERATION, ObservationType.EMBEDDING)
# A call with usage that no price matched. Calls without usage (typically
# failed requests) have nothing to price, so they are not flagged.
UNPRICED = Q(total_cost__isnull=True, price_source=PriceSource.UNKNOWN) & ~Q(
    usage_details={}
)


def usage_tokens(keys, prefix=""):
    """An expression adding up the ``usage_details`` entries named ``keys``."""
    parts = [
        Coalesce(Cast(KT(f"{prefix}usage_details__{key}"), FloatField()), Value(0.0))
        for key in keys
    ]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
