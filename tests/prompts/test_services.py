"""The registry's write services: numbering, labels, tags, validation."""

import threading

import pytest
from django.db import IntegrityError, connection

from prompts import services
from prompts.errors import PromptForbidden, PromptInputError, PromptNotFound
from prompts.models import Label, LabelMove, Prompt, PromptVersion
from workbench.auth import ServicePrincipal
from workbench.models import NamingRule, Role

pytestmark = pytest.mark.django_db


def labels_of(prompt):
    return {label.name: label.version.number for label in prompt.labels.all()}


def moves_of(prompt):
    return [
        (move.label, move.from_version, move.to_version, move.moved_by_name)
        for move in LabelMove.objects.filter(prompt=prompt).order_by("id")
    ]


def snapshot():
    """Everything the services write, to prove a refusal changed nothing."""
    return {
        "prompts": list(Prompt.objects.values_list("name", "type", "tags")),
        "versions": list(
            PromptVersion.objects.order_by("id").values_list(
                "prompt__name", "number", "content", "config", "commit_message"
            )
        ),
        "labels": list(
            Label.objects.order_by("id").values_list(
                "prompt__name", "name", "version__number"
            )
        ),
        "moves": LabelMove.objects.count(),
    }


@pytest.fixture
def principal(api_key_pair):
    api_key, _ = api_key_pair
    return ServicePrincipal(
        project_id=str(api_key.project_id),
        api_key_id=api_key.id,
        public_key=api_key.public_key,
    )


def test_it_numbers_versions_from_one_per_prompt(make_version):
    first = make_version(name="a")
    second = make_version(name="a", content="v2")
    other = make_version(name="b")

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert second.prompt_id == first.prompt_id
    assert Prompt.objects.get(name="a").highest_version == 2


def test_it_never_reuses_the_number_of_a_deleted_version(project, make_version):
    make_version(name="a")
    make_version(name="a", content="v2")
    services.prompt_delete(project=project, name="a", version=2)

    third = make_version(name="a", content="v3")

    assert third.number == 3


def test_two_creates_of_a_new_name_share_one_prompt(project, make_version):
    # The second create takes the path a concurrent loser would: the prompt
    # exists by the time it locks.
    first = make_version(name="race")
    second = make_version(name="race", content="again")

    assert Prompt.objects.filter(project=project, name="race").count() == 1
    assert [first.number, second.number] == [1, 2]


def test_an_insert_race_on_a_new_name_retries_against_the_winner(
    project, make_version, monkeypatch
):
    winner = make_version(name="race")
    real_filter = Prompt.objects.select_for_update().filter
    calls = []

    class FirstLookupMisses:
        """The first lookup runs before the winner's commit: it finds nothing."""

        def __init__(self, queryset):
            self.queryset = queryset

        def first(self):
            calls.append(1)
            return None if len(calls) == 1 else self.queryset.first()

    class LockedManager:
        def filter(self, **kwargs):
            return FirstLookupMisses(real_filter(**kwargs))

    monkeypatch.setattr(
        services.Prompt.objects, "select_for_update", lambda: LockedManager()
    )

    version = make_version(name="race", content="second")

    assert len(calls) == 2
    assert version.number == 2
    assert version.prompt_id == winner.prompt_id


def test_the_insert_race_gives_up_with_a_400_after_repeated_clashes(
    project, monkeypatch
):
    class AlwaysMisses:
        def filter(self, **kwargs):
            return self

        def first(self):
            return None

    def clash(**kwargs):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(
        services.Prompt.objects, "select_for_update", lambda: AlwaysMisses()
    )
    monkeypatch.setattr(services.Prompt.objects, "create", clash)

    with pytest.raises(PromptInputError) as error:
        services.version_create(project=project, name="race", content="x")

    assert error.value.field == "name"
    assert "retry" in error.value.message


def test_latest_follows_the_newest_version_and_is_recorded(make_version):
    make_version(name="a")
    newest = make_version(name="a", content="v2")

    assert labels_of(newest.prompt) == {"latest": 2}
    assert moves_of(newest.prompt) == [
        ("latest", None, 1, "system"),
        ("latest", 1, 2, "system"),
    ]


def test_requested_labels_move_to_the_new_version(make_version):
    make_version(name="a", labels=["production", "staging"])
    newest = make_version(name="a", content="v2", labels=["staging"])

    assert labels_of(newest.prompt) == {"latest": 2, "production": 1, "staging": 2}
    assert ("staging", 1, 2, "system") in moves_of(newest.prompt)


def test_it_records_who_moved_a_label(make_version, members, principal):
    editor = members[Role.EDITOR]
    version = make_version(name="a", actor=editor)
    services.labels_add(version=version, labels=["staging"], actor=principal)

    moves = moves_of(version.prompt)
    assert moves[0] == ("latest", None, 1, editor.username)
    assert moves[1] == ("staging", None, 1, "API")
    assert LabelMove.objects.get(label="latest").moved_by == editor
    assert version.created_by == editor and version.created_by_name == editor.username


def test_api_key_versions_are_created_by_api(make_version, principal):
    version = make_version(actor=principal)

    assert version.created_by is None
    assert version.created_by_name == "API"


def test_labels_add_moves_labels_off_other_versions_and_keeps_its_own(make_version):
    first = make_version(name="a", labels=["production"])
    second = make_version(name="a", content="v2", labels=["staging"])

    services.labels_add(version=first, labels=["staging", "beta"])

    assert labels_of(first.prompt) == {
        "production": 1,
        "staging": 1,
        "beta": 1,
        "latest": 2,
    }
    assert second.labels.filter(name="staging").count() == 0


def test_labels_add_records_nothing_for_a_label_already_there(make_version):
    version = make_version(name="a", labels=["production"])
    before = LabelMove.objects.count()

    services.labels_add(version=version, labels=["production"])

    assert LabelMove.objects.count() == before


def test_label_move_rolls_production_back_and_records_it(make_version, members):
    make_version(name="a", labels=["production"])
    second = make_version(name="a", content="v2", labels=["production"])

    move = services.label_move(
        prompt=second.prompt,
        label="production",
        version_number=1,
        actor=members[Role.ADMIN],
    )

    assert (move.label, move.from_version, move.to_version) == ("production", 2, 1)
    assert move.moved_by == members[Role.ADMIN]
    assert labels_of(second.prompt)["production"] == 1


def test_label_move_refuses_latest_unknown_versions_and_no_ops(make_version):
    version = make_version(name="a", labels=["production"])
    before = snapshot()

    with pytest.raises(PromptInputError) as latest:
        services.label_move(prompt=version.prompt, label="latest", version_number=1)
    with pytest.raises(PromptNotFound) as unknown:
        services.label_move(prompt=version.prompt, label="production", version_number=9)
    with pytest.raises(PromptInputError) as no_op:
        services.label_move(prompt=version.prompt, label="production", version_number=1)

    assert latest.value.field == "label"
    assert "with version 9" in unknown.value.message
    assert "already on version 1" in no_op.value.message
    assert snapshot() == before


def test_tags_are_inherited_when_missing_and_rewritten_when_given(make_version):
    make_version(name="a", tags=["x", "y", "x"])
    assert Prompt.objects.get(name="a").tags == ["x", "y"]

    make_version(name="a", content="v2", tags=None)
    assert Prompt.objects.get(name="a").tags == ["x", "y"]

    make_version(name="a", content="v3", tags=[])
    assert Prompt.objects.get(name="a").tags == []


def test_chat_messages_keep_only_role_and_content(make_version):
    version = make_version(
        name="chat",
        type="chat",
        content=[
            {"role": "system", "content": "Be {{tone}}", "type": "message", "x": 1},
            {"type": "placeholder", "name": "history", "extra": True},
        ],
    )

    assert version.content == [
        {"role": "system", "content": "Be {{tone}}"},
        {"type": "placeholder", "name": "history"},
    ]
    assert version.config == {}


def test_config_takes_any_json(make_version):
    version = make_version(config={"model": "gpt-4o", "stop": ["\n"], "n": None})

    assert version.config == {"model": "gpt-4o", "stop": ["\n"], "n": None}


BAD_INPUTS = [
    ({"name": ""}, "name", "must not be empty"),
    ({"name": "   "}, "name", "must not be empty"),
    ({"name": None}, "name", "is required"),
    ({"name": "x" * 256}, "name", "at most 255"),
    ({"name": "/lead"}, "name", "start or end with '/'"),
    ({"name": "trail/"}, "name", "start or end with '/'"),
    ({"name": "a//b"}, "name", "'//'"),
    ({"name": "a|b"}, "name", "'|'"),
    ({"name": "new"}, "name", "reserved"),
    ({"name": "metrics"}, "name", "reserved"),
    ({"name": "prompt-detail"}, "name", "reserved"),
    ({"name": "a/versions/3"}, "name", "/versions/<number>"),
    ({"name": "versions/3/b"}, "name", "/versions/<number>"),
    ({"name": "a\nb"}, "name", "control characters"),
    ({"name": "tab\there"}, "name", "control characters"),
    ({"name": "nul\x00"}, "name", "control characters"),
    ({"name": "del\x7f"}, "name", "control characters"),
    ({"name": "a/../b"}, "name", "'..' folder segment"),
    ({"name": "./x"}, "name", "'..' folder segment"),
    ({"name": ".."}, "name", "'..' folder segment"),
    ({"name": "a/."}, "name", "'..' folder segment"),
    ({"labels": ["Production"]}, "labels", "not a valid label"),
    ({"labels": ["a" * 37]}, "labels", "not a valid label"),
    ({"labels": [""]}, "labels", "not a valid label"),
    ({"labels": ["has space"]}, "labels", "not a valid label"),
    ({"labels": ["latest"]}, "labels", "'latest' is managed"),
    ({"labels": "production"}, "labels", "list of strings"),
    ({"labels": [3]}, "labels", "not a valid label"),
    ({"type": "image"}, "type", "'text' or 'chat'"),
    ({"type": "chat", "content": "plain"}, "prompt", "list of messages"),
    ({"type": "text", "content": [{"role": "u", "content": "x"}]}, "prompt", "string"),
    ({"content": 7}, "prompt", "must be a string"),
    ({"type": "chat", "content": []}, "prompt", "needs at least one message"),
    ({"content": []}, "prompt", "needs at least one message"),
    ({"config": "x"}, "config", "must be a JSON object (got a string)"),
    ({"config": 3}, "config", "must be a JSON object (got a number)"),
    ({"config": []}, "config", "must be a JSON object (got an array)"),
    ({"config": True}, "config", "must be a JSON object (got true or false)"),
    ({"type": "chat", "content": ["hi"]}, "prompt[0]", "must be an object"),
    ({"type": "chat", "content": [{"content": "x"}]}, "prompt[0].role", "required"),
    (
        {"type": "chat", "content": [{"role": "user", "content": ["x"]}]},
        "prompt[0].content",
        "must be a string",
    ),
    (
        {"type": "chat", "content": [{"type": "placeholder", "name": "1bad"}]},
        "prompt[0].name",
        "placeholder name",
    ),
    (
        {"type": "chat", "content": [{"type": "placeholder"}]},
        "prompt[0].name",
        "placeholder name",
    ),
    (
        {
            "type": "chat",
            "content": [
                {"role": "user", "content": "{{history}}"},
                {"type": "placeholder", "name": "history"},
            ],
        },
        "prompt",
        "history",
    ),
    ({"commit_message": "m" * 501}, "commitMessage", "at most 500"),
    ({"commit_message": 5}, "commitMessage", "string"),
    ({"tags": "a"}, "tags", "list of strings"),
    ({"tags": ["a", 1]}, "tags", "list of strings"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_INPUTS)
def test_it_refuses_bad_input_naming_the_field(
    project, make_version, change, field, reason
):
    make_version(name="existing", labels=["production"])
    before = snapshot()
    arguments = {"name": "fresh", "content": "text", **change}

    with pytest.raises(PromptInputError) as error:
        services.version_create(project=project, **arguments)

    assert error.value.field == field
    assert reason in error.value.message
    assert error.value.message.startswith(f"{field}: ")
    assert snapshot() == before


def test_a_name_is_trimmed(make_version):
    version = make_version(name="  spaced/name  ")

    assert version.prompt.name == "spaced/name"


def test_a_name_of_255_characters_with_unicode_is_accepted(make_version):
    name = "é" * 255
    version = make_version(name=name)

    assert version.prompt.name == name


@pytest.mark.parametrize("name", ["a.b/c..d", "...", "v1.2/notes", "dots./.x"])
def test_dots_inside_a_name_segment_are_fine(make_version, name):
    version = make_version(name=name)

    assert version.prompt.name == name


def test_the_type_must_match_the_existing_versions(project, make_version):
    make_version(name="a", labels=["production"])
    before = snapshot()

    with pytest.raises(PromptInputError) as error:
        services.version_create(
            project=project,
            name="a",
            type="chat",
            content=[{"role": "user", "content": "x"}],
            labels=["staging"],
            tags=["changed"],
        )

    assert error.value.field == "type"
    assert "text prompt" in error.value.message
    assert snapshot() == before


def test_the_project_naming_rule_is_quoted_in_the_error(project):
    project.naming_rule = NamingRule.SERVICE_NAME_PROMPT_NAME
    project.save()

    with pytest.raises(PromptInputError) as error:
        services.version_create(project=project, name="lowercase", content="x")
    version = services.version_create(
        project=project, name="INTERVIEW_QUESTIONS", content="x"
    )

    assert error.value.field == "name"
    assert "SERVICE_NAME_PROMPT_NAME" in error.value.message
    assert "'lowercase'" in error.value.message
    assert Prompt.objects.filter(name="lowercase").count() == 0
    assert version.prompt.name == "INTERVIEW_QUESTIONS"


def test_protected_labels_refuse_a_version_that_is_not_approved(
    protected, make_version, principal, members
):
    version = make_version(name="a", labels=["staging"])
    before = snapshot()

    with pytest.raises(PromptForbidden) as by_key:
        services.labels_add(version=version, labels=["production"], actor=principal)
    with pytest.raises(PromptForbidden):
        make_version(name="a", content="v2", labels=["production"], actor=principal)
    with pytest.raises(PromptForbidden):
        services.label_move(
            prompt=version.prompt,
            label="production",
            version_number=1,
            actor=members[Role.APPROVER],
        )
    # Unprotected labels move freely.
    services.labels_add(version=version, labels=["beta"], actor=principal)

    assert "only move to an approved version (version 1 is draft)" in str(by_key.value)
    assert snapshot()["versions"] == before["versions"]
    assert labels_of(version.prompt) == {"latest": 1, "staging": 1, "beta": 1}


def test_protected_labels_follow_the_project_setting(project, make_version, principal):
    project.protected_labels = ["gold"]
    project.save()

    version = make_version(name="a", labels=["production"], actor=principal)
    with pytest.raises(PromptForbidden) as error:
        services.labels_add(version=version, labels=["gold"], actor=principal)

    assert "'gold' is protected" in error.value.message
    assert labels_of(version.prompt) == {"latest": 1, "production": 1}


def test_an_approved_version_takes_a_protected_label_from_keys_and_approvers(
    protected, make_version, principal, members, approve
):
    version = approve(make_version(name="a"))
    second = approve(make_version(name="a", content="v2"))

    with pytest.raises(PromptForbidden) as by_editor:
        services.labels_add(
            version=version, labels=["production"], actor=members[Role.EDITOR]
        )
    services.labels_add(version=version, labels=["production"], actor=principal)
    services.labels_add(
        version=second, labels=["production"], actor=members[Role.APPROVER]
    )

    assert "only an approver may move it" in by_editor.value.message
    assert moves_of(version.prompt)[-2:] == [
        ("production", None, 1, "API"),
        ("production", 1, 2, members[Role.APPROVER].username),
    ]


def test_rollback_moves_a_label_back_to_its_previous_version(
    project, make_version, members
):
    make_version(name="a", labels=["staging", "beta"])
    version = make_version(name="a", content="v2", labels=["staging"])

    move = services.label_rollback(
        prompt=version.prompt, label="staging", actor=members[Role.EDITOR]
    )

    assert (move.from_version, move.to_version) == (2, 1)
    assert labels_of(version.prompt)["staging"] == 1
    with pytest.raises(PromptInputError) as error:
        services.label_rollback(prompt=version.prompt, label="beta")
    assert "no earlier version" in error.value.message


def test_delete_one_version_records_its_labels_and_moves_latest(
    project, make_version, principal
):
    make_version(name="a", labels=["production"])
    make_version(name="a", content="v2", labels=["staging"])

    deleted = services.prompt_delete(
        project=project, name="a", version=2, actor=principal
    )

    prompt = Prompt.objects.get(name="a")
    assert deleted == 1
    assert labels_of(prompt) == {"production": 1, "latest": 1}
    assert moves_of(prompt)[-2:] == [
        ("staging", 2, None, "API"),
        ("latest", 2, 1, "API"),
    ]


def test_delete_by_label_and_delete_all(project, make_version):
    make_version(name="a", labels=["production"])
    make_version(name="a", content="v2")
    make_version(name="a", content="v3")

    assert services.prompt_delete(project=project, name="a", label="production") == 1
    assert list(
        PromptVersion.objects.filter(prompt__name="a").values_list("number", flat=True)
    ) == [3, 2]
    assert services.prompt_delete(project=project, name="a") == 2
    assert not Prompt.objects.filter(name="a").exists()


def test_delete_refuses_both_selectors_and_unknown_targets(project, make_version):
    make_version(name="a")
    before = snapshot()

    with pytest.raises(PromptInputError):
        services.prompt_delete(project=project, name="a", version=1, label="latest")
    with pytest.raises(PromptNotFound):
        services.prompt_delete(project=project, name="missing")
    with pytest.raises(PromptNotFound) as by_version:
        services.prompt_delete(project=project, name="a", version=5)
    with pytest.raises(PromptNotFound) as by_label:
        services.prompt_delete(project=project, name="a", label="production")

    assert "with version 5" in by_version.value.message
    assert "with label 'production'" in by_label.value.message
    assert snapshot() == before


def test_delete_never_reaches_another_projects_prompt(
    project, other_project, make_version
):
    make_version(name="a")

    with pytest.raises(PromptNotFound):
        services.prompt_delete(project=other_project, name="a")

    assert Prompt.objects.filter(project=project, name="a").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
def test_concurrent_creates_of_one_new_name_all_succeed_in_order(project):
    start = threading.Barrier(4)
    numbers, errors = [], []

    def create(index):
        try:
            start.wait()
            version = services.version_create(
                project=project, name="race", content=f"from {index}"
            )
            numbers.append(version.number)
        except Exception as error:  # the assertion below reports it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]
    prompt = Prompt.objects.get(project=project, name="race")
    assert labels_of(prompt) == {"latest": 4}
    assert LabelMove.objects.filter(prompt=prompt, label="latest").count() == 4
