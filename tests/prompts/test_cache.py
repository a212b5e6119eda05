"""The fetch cache: hits cost no query, every change shows on the next fetch,
and nothing uncommitted or rolled back ever reaches the cache."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from prompts import cache as prompt_cache
from prompts import services
from prompts.cache import BY_LABEL, Lookup
from tests.conftest import ApiClient
from workbench.auth import forget_api_key

from .conftest import prompt_path

pytestmark = pytest.mark.django_db


def fetch(api, name="g", **query):
    return api.get(prompt_path(name), query)


def test_a_cache_hit_runs_no_query(
    api, make_version, committed, django_assert_num_queries
):
    with committed():
        make_version(name="g", labels=["production"])
    first = fetch(api)

    with django_assert_num_queries(0):
        hit = fetch(api)
        not_modified = api.get(prompt_path("g"), HTTP_IF_NONE_MATCH=first["ETag"])

    assert hit.status_code == 200
    assert hit.content == first.content
    assert hit["ETag"] == first["ETag"]
    assert not_modified.status_code == 304


def test_a_miss_fills_the_cache_for_that_label_or_version_only(
    api, make_version, committed, django_assert_num_queries
):
    with committed():
        make_version(name="g", labels=["production"])
    fetch(api)  # warms the key record and the production entry

    with django_assert_num_queries(2):  # the version and its labels
        fetch(api, version="1")
    with django_assert_num_queries(0):
        again = fetch(api, version="1")

    assert again.json()["version"] == 1


def test_a_404_is_cached_until_the_prompt_is_created(
    api, make_version, committed, django_assert_num_queries
):
    assert fetch(api).status_code == 404
    with django_assert_num_queries(0):
        cached = fetch(api)
    assert cached.json()["message"] == "Prompt not found: 'g' with label 'production'"

    with committed():
        make_version(name="g", labels=["production"])

    assert fetch(api).json()["version"] == 1


def test_a_label_move_through_the_api_shows_on_the_next_fetch(
    api, make_version, committed
):
    with committed():
        make_version(name="g", labels=["production"])
        make_version(name="g", content="v2")
    assert fetch(api).json()["version"] == 1

    with committed():
        response = api.patch(
            prompt_path("g", suffix="/versions/2"),
            data=json.dumps({"newLabels": ["production"]}),
            content_type="application/json",
        )
    assert response.status_code == 200

    after = fetch(api)
    assert (after.json()["version"], after.json()["prompt"]) == (2, "v2")
    assert fetch(api, version="1").json()["labels"] == []


def test_a_rollback_with_label_move_shows_on_the_next_fetch(
    api, make_version, committed
):
    with committed():
        make_version(name="g", labels=["production"])
        second = make_version(name="g", content="v2", labels=["production"])
    assert fetch(api).json()["version"] == 2

    with committed():
        services.label_move(prompt=second.prompt, label="production", version_number=1)

    assert fetch(api).json()["version"] == 1


@pytest.mark.parametrize(
    "change",
    ["new_version", "labels_add", "label_move", "delete_version", "tags"],
)
def test_every_change_drops_the_prompts_cached_fetches(
    api, project, make_version, committed, change
):
    with committed():
        first = make_version(name="g", labels=["production", "staging"], tags=["a"])
        make_version(name="g", content="v2")
    cached = {
        "production": fetch(api).json(),
        "v1": fetch(api, version="1").json(),
        "latest": fetch(api, label="latest").json(),
    }

    with committed():
        if change == "new_version":
            make_version(name="g", content="v3", labels=["production"])
        elif change == "labels_add":
            services.labels_add(
                version=first.prompt.versions.get(number=2), labels=["production"]
            )
        elif change == "label_move":
            services.label_move(prompt=first.prompt, label="staging", version_number=2)
        elif change == "delete_version":
            services.prompt_delete(project=project, name="g", version=2)
        elif change == "tags":
            make_version(name="g", content="v3", tags=["b"])

    now = {
        "production": fetch(api).json(),
        "v1": fetch(api, version="1").json(),
        "latest": fetch(api, label="latest").json(),
    }
    # Version 1's own labels or tags change in every case.
    assert now["v1"] != cached["v1"]
    expected = {
        "new_version": (3, ["staging"], 3),
        "labels_add": (2, ["staging"], 2),
        "label_move": (1, ["production"], 2),
        "delete_version": (1, ["latest", "production", "staging"], 1),
        "tags": (1, ["production", "staging"], 3),
    }[change]
    assert (now["production"]["version"], now["v1"]["labels"]) == expected[:2]
    assert now["latest"]["version"] == expected[2]


def test_tags_apply_to_every_cached_version(api, make_version, committed):
    with committed():
        make_version(name="g", labels=["production"], tags=["old"])
    assert fetch(api).json()["tags"] == ["old"]

    with committed():
        make_version(name="g", content="v2", tags=["new"])

    assert fetch(api).json()["tags"] == ["new"]


def test_deleting_the_prompt_turns_cached_fetches_into_404(
    api, project, make_version, committed
):
    with committed():
        make_version(name="g", labels=["production"])
    assert fetch(api).status_code == 200

    with committed():
        services.prompt_delete(project=project, name="g")

    assert fetch(api).status_code == 404


def test_uncommitted_changes_never_fill_the_cache(
    api, make_version, django_assert_num_queries
):
    # Under the test's transaction nothing commits: the on-commit hook is
    # still pending, so fetches of this prompt must keep going to the rows.
    make_version(name="g", labels=["production"])
    fetch(api)

    with django_assert_num_queries(2):
        response = fetch(api)

    assert response.json()["version"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_stale_or_poisoned_entry(api, project):
    services.version_create(
        project=project, name="g", content="v1", labels=["production"]
    )
    assert fetch(api).json()["prompt"] == "v1"

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.version_create(
            project=project, name="g", content="v2", labels=["production"]
        )
        # Same connection, so this fetch sees the uncommitted version...
        inside = fetch(api).json()
        raise Abort

    assert inside["prompt"] == "v2"
    # ...but it did not reach the cache, and the old entry still holds.
    after = fetch(api).json()
    assert (after["version"], after["prompt"]) == (1, "v1")
    assert fetch(api, label="latest").json()["version"] == 1

    services.version_create(
        project=project, name="g", content="v3", labels=["production"]
    )
    assert fetch(api).json()["prompt"] == "v3"


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_is_visible_with_real_commits(api, project):
    services.version_create(
        project=project, name="g", content="v1", labels=["production"]
    )
    assert fetch(api).json()["version"] == 1

    with transaction.atomic():
        services.version_create(
            project=project, name="g", content="v2", labels=["production"]
        )

    assert fetch(api).json()["version"] == 2


def test_an_entry_built_before_a_commit_is_never_served(project):
    lookup = Lookup(str(project.id), "g", BY_LABEL, "production")
    assert lookup.hit is None

    def read_rows_while_a_writer_commits():
        prompt_cache._Invalidation(project.id, ["g"])()
        return b'{"stale":true}'

    lookup.fill(read_rows_while_a_writer_commits)

    again = Lookup(str(project.id), "g", BY_LABEL, "production")

    assert again.hit is None


def test_a_fresh_entry_is_served(project):
    Lookup(str(project.id), "g", BY_LABEL, "production").fill(lambda: b"{}")

    again = Lookup(str(project.id), "g", BY_LABEL, "production")

    assert again.hit is not None
    assert again.hit.body == b"{}"
    assert again.hit.etag == prompt_cache.etag_for(b"{}")


def test_cache_keys_stay_short_and_plain_for_any_name(project):
    name = "日本語 with spaces/" * 14

    keys = [
        prompt_cache.generation_key(project.id, name),
        prompt_cache.entry_key(project.id, name, BY_LABEL, "production"),
    ]

    assert all(len(key) < 120 and key.isascii() and " " not in key for key in keys)
    assert prompt_cache.generation_key(project.id, "a") != (
        prompt_cache.generation_key(project.id, "b")
    )


def test_a_revoked_key_is_refused_on_the_next_fetch(
    api, api_key_pair, make_version, committed
):
    with committed():
        make_version(name="g", labels=["production"])
    assert fetch(api).status_code == 200
    assert fetch(api).status_code == 200  # now served in one round trip

    api_key, _ = api_key_pair
    api_key.revoked_at = timezone.now()
    api_key.save()
    forget_api_key(api_key.public_key)

    response = fetch(api)

    assert response.status_code == 401
    assert "unknown or revoked" in response.json()["message"]


def test_a_wrong_secret_for_a_known_key_is_refused(api, make_version, committed):
    with committed():
        make_version(name="g", labels=["production"])
    assert fetch(api).status_code == 200

    wrong = ApiClient(api.public_key, "sk-lf-wrong")

    assert fetch(wrong).status_code == 401
    assert fetch(wrong, version="x").status_code == 401
    assert fetch(wrong, label="Bad Label").status_code == 401
