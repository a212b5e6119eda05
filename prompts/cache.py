"""The prompt fetch cache: pre-serialized bodies, invalidated by generation.

Every prompt has a generation stamp (``pgen``). A cached fetch (``pfetch``)
holds the generation it was built under, the JSON body bytes and the ETag;
it is valid only while the stamp still matches, so a writer invalidates every
cached fetch of a prompt (by label, by version, misses included) by writing
one fresh stamp when its transaction commits. A reader takes the stamp
before reading the database, so a fetch built from rows that a concurrent
commit has since replaced is stored under the old stamp and never served.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

logger = logging.getLogger(__name__)

BY_LABEL = "l"
BY_VERSION = "v"


def _digest(text):
    # Names run to 255 characters of any script: a digest keeps keys short
    # and free of spaces and control characters (memcached refuses both).
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def generation_key(project_id, name):
    return f"pgen:{project_id}:{_digest(name)}"


def entry_key(project_id, name, kind, value):
    return f"pfetch:{project_id}:{_digest(name)}:{kind}:{_digest(str(value))}"


@dataclass(frozen=True)
class CachedFetch:
    """A fetch answer: ``body`` is None for a prompt that does not exist."""

    body: bytes | None
    etag: str | None


def etag_for(body):
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


class Lookup:
    """One fetch's cache state, read in a single round trip.

    ``extra_keys`` are read in the same round trip (the hot path adds the API
    key record) and land in ``extra``.
    """

    def __init__(self, project_id, name, kind, value, *, extra_keys=()):
        self.project_id = project_id
        self.name = name
        self.generation_key = generation_key(project_id, name)
        self.entry_key = entry_key(project_id, name, kind, value)
        found = cache.get_many([self.generation_key, self.entry_key, *extra_keys])
        self.extra = {key: found.get(key) for key in extra_keys}
        self.generation = found.get(self.generation_key)
        entry = found.get(self.entry_key)
        self.hit = None
        if entry is not None and self.generation is not None:
            generation, body, etag = entry
            # Inside a transaction that changed this prompt the cache is
            # behind the rows this connection sees: read the rows instead.
            if generation == self.generation and not _has_uncommitted_change(
                project_id, name
            ):
                self.hit = CachedFetch(body, etag)

    def fill(self, build):
        """Cache what ``build()`` reads from the database, and return it.

        ``build`` returns the body bytes, or None for "not found". The entry
        is stamped with a generation taken before ``build`` runs: if a commit
        bumps it meanwhile, the entry is never served.
        """
        if self.generation is None:
            self.generation = self._start_generation()
        body = build()
        etag = etag_for(body) if body is not None else None
        fetch = CachedFetch(body, etag)
        if self.generation is None or _has_uncommitted_change(
            self.project_id, self.name
        ):
            # Uncommitted rows may still roll back: they must not be cached.
            return fetch
        cache.set(
            self.entry_key,
            (self.generation, body, etag),
            settings.PROMPT_CACHE_TIMEOUT,
        )
        return fetch

    def _start_generation(self):
        cache.add(self.generation_key, uuid.uuid4().hex, settings.PROMPT_CACHE_TIMEOUT)
        # Whoever won the add, the stamp now in the cache is the one to use.
        return cache.get(self.generation_key)


class _Invalidation:
    """An on-commit hook that gives prompts a fresh generation each."""

    def __init__(self, project_id, names):
        self.project_id = str(project_id)
        self.names = frozenset(names)
        self.done = False

    def __call__(self):
        self.done = True
        cache.set_many(
            {
                generation_key(self.project_id, name): uuid.uuid4().hex
                for name in self.names
            },
            settings.PROMPT_CACHE_TIMEOUT,
        )
        logger.debug(
            "Prompt cache invalidated for %d prompt(s) in %s",
            len(self.names),
            self.project_id,
        )


def invalidate_on_commit(project_id, *names):
    """Drop every cached fetch of the prompts once the transaction commits."""
    transaction.on_commit(_Invalidation(project_id, names))


def _has_uncommitted_change(project_id, name):
    if not connection.run_on_commit:
        return False
    project_id = str(project_id)
    return any(
        isinstance(hook, _Invalidation)
        and not hook.done
        and hook.project_id == project_id
        and name in hook.names
        for _, hook, _ in connection.run_on_commit
    )
