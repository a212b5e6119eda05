"""A mergeable histogram with bounded relative error (the DDSketch idea).

A positive value ``x`` falls in bucket ``ceil(log(x) / log(gamma))`` with
``gamma = (1 + a) / (1 - a)``; every value in bucket ``i`` lies in
``(gamma**(i-1), gamma**i]``, so answering ``2 * gamma**i / (gamma + 1)`` is
within relative error ``a`` of it. Zero and negative values (clock skew) are
counted in a separate zero bucket. Two histograms merge by adding counts,
which is what lets hourly buckets add up to days. Quantiles use the
nearest-rank definition usual for latency percentiles (the p95 of a few calls
is the slowest of them). Pure Python, no Django.
"""

import math

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
# The zero bucket's key when stored: every other key is an integer index.
ZERO_KEY = "zero"


def bucket_index(value):
    """The bucket of a positive ``value``."""
    return math.ceil(math.log(value) / LOG_GAMMA)


def bucket_value(index):
    """The value reported for bucket ``index``: within 1% of all its members."""
    return 2 * GAMMA**index / (GAMMA + 1)


def nearest_rank(q, count):
    """The 0-based nearest rank of quantile ``q`` among ``count`` sorted values."""
    # Rounding first keeps float noise (0.07 * 100 == 7.000000000000001) from
    # pushing ceil up a whole rank.
    return max(math.ceil(round(q * count, 9)) - 1, 0)


class Histogram:
    """Counts per log-spaced bucket; ``quantile`` is within 1% relative error."""

    def __init__(self, counts=None, zero_count=0):
        self.counts = dict(counts or {})
        self.zero_count = zero_count

    @classmethod
    def of(cls, values):
        histogram = cls()
        for value in values:
            histogram.add(value)
        return histogram

    @classmethod
    def from_dict(cls, data):
        """Read the stored form written by ``to_dict``."""
        data = dict(data or {})
        zero_count = data.pop(ZERO_KEY, 0)
        return cls({int(key): count for key, count in data.items()}, zero_count)

    def to_dict(self):
        """A JSON-ready dict: ``{"<index>": count, ..., "zero": count}``."""
        stored = {str(index): count for index, count in sorted(self.counts.items())}
        if self.zero_count:
            stored[ZERO_KEY] = self.zero_count
        return stored

    @property
    def count(self):
        return self.zero_count + sum(self.counts.values())

    def add(self, value, count=1):
        if value <= 0:
            self.zero_count += count
            return
        index = bucket_index(value)
        self.counts[index] = self.counts.get(index, 0) + count

    def merge(self, other):
        """Add ``other``'s counts into this histogram; returns self."""
        self.zero_count += other.zero_count
        for index, count in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + count
        return self

    def quantile(self, q):
        """The nearest-rank quantile within 1%, or None when empty.

        The 0-based rank is ``nearest_rank(q, n)``: ``ceil(q * n) - 1``, and 0
        for ``q = 0``, so p95/p99 of a handful of calls is the slowest call.
        The answer is within ``RELATIVE_ACCURACY`` of the value at that rank.
        """
        if not 0 <= q <= 1:
            raise ValueError(f"quantile must be between 0 and 1, not {q}")
        total = self.count
        if total == 0:
            return None
        rank = nearest_rank(q, total)
        seen = self.zero_count
        if rank < seen:
            return 0.0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if rank < seen:
                return bucket_value(index)
        raise AssertionError("rank beyond the histogram's count")

    def __eq__(self, other):
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.zero_count == other.zero_count and {
            k: v for k, v in self.counts.items() if v
        } == {k: v for k, v in other.counts.items() if v}

    def __repr__(self):
        return f"Histogram(count={self.count}, buckets={len(self.counts)})"
