"""Matching model names against the match patterns of project prices.

Patterns are typed by admins, so a pattern may backtrack catastrophically
(``(a|a)*$``). Every match runs through ``pattern_search`` with a time limit:
a pattern that runs out of time counts as not matching, so neither a page
nor the Celery worker pricing calls can be stalled by one.
"""

import logging
from functools import lru_cache

import regex

logger = logging.getLogger(__name__)

# Seconds one pattern may spend on one model name; real patterns take
# microseconds.
MATCH_TIMEOUT = 0.05
PatternError = regex.error


@lru_cache(maxsize=512)
def pattern_compile(pattern):
    """``pattern`` compiled (cached), or PatternError when it is not a regex."""
    return regex.compile(pattern)


@lru_cache(maxsize=1024)
def _warn_timeout(pattern, model, source):
    # Cached, so the log names each (price, model) once per process.
    logger.warning(
        "Match pattern %r of %s timed out on model %r after %ss; treated as "
        "not matching. Rewrite the pattern without nested or overlapping "
        "repetition.",
        pattern,
        source,
        model,
        MATCH_TIMEOUT,
    )


def pattern_search(compiled, model, *, source):
    """Whether ``compiled`` matches somewhere in ``model``, within MATCH_TIMEOUT.

    ``source`` names the price for the warning (e.g. "model price <id> of
    project <id>").
    """
    try:
        return compiled.search(model, timeout=MATCH_TIMEOUT) is not None
    except TimeoutError:
        _warn_timeout(compiled.pattern, model, source)
        return False
