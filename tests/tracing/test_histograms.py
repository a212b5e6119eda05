"""The mergeable histogram: quantiles within 1% of exact, merging adds up."""

import math
import random

import pytest

from tracing.histograms import Histogram


def exact_quantile(values, q):
    """The order statistic at rank floor(q * (n - 1)) (numpy's "lower" method)."""
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


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
