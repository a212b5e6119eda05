"""The mergeable histogram: quantiles within 1% of exact, merging adds up."""

import math
import random

import pytest

from tracing.histograms import Histogram


def exact_quantile(values, q):
    """The nearest-rank order statistic: 0-based rank ceil(q * n) - 1, 0 for q=0."""
    ordered = sorted(values)
    return ordered[max(math.ceil(round(q * len(ordered), 9)) - 1, 0)]


@pytest.fixture
def latencies():
    generator = random.Random(4)
    return [generator.lognormvariate(-0.5, 1.2) for _ in range(10_000)]


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_quantiles_are_within_one_percent_of_exact(latencies, q):
    estimate = Histogram.of(latencies).quantile(q)
    exact = exact_quantile(latencies, q)
    assert abs(estimate - exact) / exact <= 0.01


def test_every_quantile_of_a_wide_range_is_within_one_percent():
    generator = random.Random(7)
    values = [generator.lognormvariate(0, 3) for _ in range(10_000)]
    histogram = Histogram.of(values)
    for percent in range(1, 100):
        exact = exact_quantile(values, percent / 100)
        estimate = histogram.quantile(percent / 100)
        assert abs(estimate - exact) / exact <= 0.01


def test_merging_two_histograms_equals_the_histogram_of_both(latencies):
    first, second = latencies[:3000], latencies[3000:]
    merged = Histogram.of(first).merge(Histogram.of(second))
    assert merged == Histogram.of(latencies)
    assert merged.count == 10_000


def test_the_stored_form_round_trips(latencies):
    histogram = Histogram.of([*latencies, 0.0, -0.2])
    stored = histogram.to_dict()
    assert stored["zero"] == 2
    assert Histogram.from_dict(stored) == histogram
    assert Histogram.from_dict(stored).quantile(0) == 0.0


def test_an_empty_histogram_has_no_quantile():
    assert Histogram().quantile(0.5) is None
    assert Histogram.from_dict({}).count == 0


def test_a_quantile_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Histogram.of([1.0]).quantile(1.5)


def within_one_percent(estimate, exact):
    return abs(estimate - exact) / exact <= 0.01


def test_p95_and_p99_of_two_calls_are_the_slower_call():
    histogram = Histogram.of([5.686, 15.04])
    assert within_one_percent(histogram.quantile(0.95), 15.04)
    assert within_one_percent(histogram.quantile(0.99), 15.04)
    # Rank ceil(0.5 * 2) - 1 = 0: the median of two is the faster one.
    assert within_one_percent(histogram.quantile(0.5), 5.686)
    assert within_one_percent(histogram.quantile(0), 5.686)


def test_p95_and_p99_of_eighteen_calls_are_the_slowest_call():
    # Sixteen calls of 1 to 8.5 s, then 10.698 s, then the slowest at 13.726 s.
    latencies = [1.0 + 0.5 * i for i in range(16)] + [10.698, 13.726]
    histogram = Histogram.of(latencies)
    # ceil(0.95 * 18) - 1 = 17 and ceil(0.99 * 18) - 1 = 17: the slowest call.
    assert within_one_percent(histogram.quantile(0.95), 13.726)
    assert within_one_percent(histogram.quantile(0.99), 13.726)
    # ceil(0.5 * 18) - 1 = 8: the ninth call, 1.0 + 0.5 * 8 = 5.0 s.
    assert within_one_percent(histogram.quantile(0.5), 5.0)


def test_a_quantile_at_an_exact_rank_is_not_pushed_up_by_float_noise():
    # 0.07 * 100 is 7.000000000000001 in floating point; the rank is still 6.
    histogram = Histogram.of(range(1, 101))
    assert within_one_percent(histogram.quantile(0.07), 7)
