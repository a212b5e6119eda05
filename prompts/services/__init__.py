"""Writes to the prompt registry: versions, labels, deletion, bulk import.

Every service validates its whole input before it writes anything, runs in
one transaction, records each label change as a LabelMove, and drops the
prompt's cached fetches when (and only if) the transaction commits.
"""

import logging
import unicodedata

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from workbench.models import Role, role_at_least

from .. import cache as prompt_cache
from ..errors import PromptForbidden, PromptInputError, PromptNotFound
from ..models import (
    LABEL_PATTERN,
    LATEST,
    PLACEHOLDER_NAME_PATTERN,
    RESERVED_NAMES,
    VARIABLE_PATTERN,
    VERSIONS_SEGMENT,
    Label,
    LabelMove,
    Prompt,
    PromptType,
    PromptVersion,
    ReviewStatus,
)
from ..selectors import user_role_on
from . import events, reviews

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 255
COMMIT_MESSAGE_MAX_LENGTH = 500
# A version's text, or its chat messages together. The longest real prompt
# is about 144,000 characters; multi-megabyte ones make every page that
# shows the version unusable.
CONTENT_MAX_LENGTH = 262_144
API_ACTOR_NAME = "API"
SYSTEM_ACTOR_NAME = "system"
# Concurrent creates of a brand-new prompt: the loser of the insert race
# retries against the winner's row.
CREATE_ATTEMPTS = 3
JSON_TYPE_NAMES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    list: "an array",
}
# "a/../b" would be read as a path by browsers and proxies, never as a name.
DOT_SEGMENTS = {".", ".."}


# Validation ---------------------------------------------------------------


def clean_name(project, name):
    if not isinstance(name, str):
        raise PromptInputError("name", "is required and must be a string")
    name = name.strip()
    if not name:
        raise PromptInputError("name", "must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise PromptInputError(
            "name", f"must be at most {NAME_MAX_LENGTH} characters (got {len(name)})"
        )
    if name.startswith("/") or name.endswith("/"):
        raise PromptInputError("name", "must not start or end with '/'")
    if "//" in name:
        raise PromptInputError("name", "must not contain '//'")
    if "|" in name:
        raise PromptInputError("name", "must not contain '|'")
    _refuse_control_characters(name)
    if DOT_SEGMENTS & set(name.split("/")):
        raise PromptInputError(
            "name", "must not have a '.' or '..' folder segment (as in 'a/../b')"
        )
    if name in RESERVED_NAMES:
        raise PromptInputError("name", f"'{name}' is reserved")
    if VERSIONS_SEGMENT.search(name):
        raise PromptInputError(
            "name", "must not contain a '/versions/<number>' segment"
        )
    rule_error = project.naming_rule_error(name)
    # The rule binds new names only: prompts named before it keep taking versions.
    if rule_error and not Prompt.objects.filter(project=project, name=name).exists():
        raise PromptInputError("name", rule_error)
    return name


def _refuse_control_characters(name):
    """Newlines, tabs, NUL and the like: no URL route or page can show them."""
    for character in name:
        if unicodedata.category(character) == "Cc":
            raise PromptInputError(
                "name",
                f"must not contain control characters (found {character!r})",
            )


def clean_labels(labels, field="labels"):
    """The requested labels, deduplicated in order; ``latest`` is refused."""
    if labels is None:
        return []
    if isinstance(labels, str) or not isinstance(labels, list | tuple):
        raise PromptInputError(field, "must be a list of strings")
    cleaned = []
    for label in labels:
        if not isinstance(label, str) or not LABEL_PATTERN.match(label):
            raise PromptInputError(
                field,
                f"{label!r} is not a valid label: 1-36 characters of a-z, 0-9, "
                "'_', '-' and '.'",
            )
        if label == LATEST:
            raise PromptInputError(
                field, "'latest' is managed by the server and cannot be set"
            )
        if label not in cleaned:
            cleaned.append(label)
    return cleaned


def clean_tags(tags):
    """None keeps the prompt's tags; a list replaces them."""
    if tags is None:
        return None
    if not isinstance(tags, list | tuple) or not all(
        isinstance(tag, str) for tag in tags
    ):
        raise PromptInputError("tags", "must be a list of strings or null")
    return list(dict.fromkeys(tags))


def clean_type(prompt_type, content):
    if prompt_type is None:
        return PromptType.CHAT if isinstance(content, list) else PromptType.TEXT
    if prompt_type not in PromptType.values:
        raise PromptInputError(
            "type", f"must be 'text' or 'chat' (got {prompt_type!r})"
        )
    return PromptType(prompt_type)


def clean_content(prompt_type, content):
    if prompt_type == PromptType.TEXT:
        if not isinstance(content, str):
            raise PromptInputError("prompt", "a text prompt must be a string")
        _refuse_oversized_content([content])
        return content
    if not isinstance(content, list):
        raise PromptInputError("prompt", "a chat prompt must be a list of messages")
    if not content:
        raise PromptInputError("prompt", "a chat prompt needs at least one message")
    messages = [clean_message(index, item) for index, item in enumerate(content)]
    _refuse_oversized_content(message.get("content", "") for message in messages)
    _refuse_variables_named_like_placeholders(messages)
    return messages


def _refuse_oversized_content(texts):
    size = sum(len(text) for text in texts)
    if size > CONTENT_MAX_LENGTH:
        raise PromptInputError(
            "prompt",
            f"must be at most {CONTENT_MAX_LENGTH:,} characters in total "
            f"(got {size:,})",
        )


def clean_message(index, item):
    field = f"prompt[{index}]"
    if not isinstance(item, dict):
        raise PromptInputError(field, "must be an object")
    if item.get("type") == "placeholder":
        name = item.get("name")
        if not isinstance(name, str) or not PLACEHOLDER_NAME_PATTERN.match(name):
            raise PromptInputError(
                f"{field}.name",
                "a placeholder name starts with a letter and holds only letters, "
                "digits and '_'",
            )
        return {"type": "placeholder", "name": name}
    role, content = item.get("role"), item.get("content")
    if not isinstance(role, str):
        raise PromptInputError(f"{field}.role", "is required and must be a string")
    if not isinstance(content, str):
        raise PromptInputError(f"{field}.content", "is required and must be a string")
    # Anything else on a message (an SDK-side "type", say) is not stored.
    return {"role": role, "content": content}


def _refuse_variables_named_like_placeholders(messages):
    placeholders = {m["name"] for m in messages if m.get("type") == "placeholder"}
    variables = {
        variable
        for message in messages
        for variable in VARIABLE_PATTERN.findall(message.get("content", ""))
    }
    clash = sorted(placeholders & variables)
    if clash:
        raise PromptInputError(
            "prompt",
            "these names are used both as variables and as placeholders: "
            + ", ".join(clash),
        )


def clean_commit_message(commit_message):
    if commit_message is None:
        return None
    if not isinstance(commit_message, str):
        raise PromptInputError("commitMessage", "must be a string or null")
    if len(commit_message) > COMMIT_MESSAGE_MAX_LENGTH:
        raise PromptInputError(
            "commitMessage",
            f"must be at most {COMMIT_MESSAGE_MAX_LENGTH} characters "
            f"(got {len(commit_message)})",
        )
    return commit_message


def clean_config(config):
    """Model settings as a JSON object; None means none."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        got = JSON_TYPE_NAMES.get(type(config), type(config).__name__)
        raise PromptInputError("config", f"must be a JSON object (got {got})")
    return config


# Who did it ---------------------------------------------------------------


def actor_fields(actor):
    """``(user or None, display name)`` for the created_by / moved_by columns."""
    if isinstance(actor, AbstractBaseUser):
        return actor, actor.get_username()
    if actor is None:
        return None, SYSTEM_ACTOR_NAME
    return None, API_ACTOR_NAME


def protected_label_refusal(project, label, version, actor):
    """Why ``actor`` may not point the protected ``label`` at ``version``.

    The single place that decides it; None means allowed. Only an approved
    version may hold a protected label. A user also needs the approver role
    on the prompt; an API key acts for the project as a service account and
    needs only the approval. The system (seeding, migrations) is trusted.
    """
    if actor is None:
        return None
    # Counted now, not read from the row: the project may have asked for
    # more approvals, or turned four eyes on, since the version was approved.
    status = ReviewStatus(reviews.current_status(version))
    if status != ReviewStatus.APPROVED:
        return (
            f"Label '{label}' is protected in this project: it may only move to "
            f"an approved version (version {version.number} is "
            f"{status.label.lower()})."
        )
    if isinstance(actor, AbstractBaseUser):
        role = user_role_on(actor, version.prompt)
        if not role_at_least(role, Role.APPROVER):
            return (
                f"Label '{label}' is protected in this project: only an approver "
                "may move it."
            )
    return None


def _check_protected(project, label, version, actor):
    if label not in (project.protected_labels or []):
        return
    refusal = protected_label_refusal(project, label, version, actor)
    if refusal:
        raise PromptForbidden(refusal)


# Labels -------------------------------------------------------------------


def _point_label(*, prompt, label, version, actor):
    """Point ``label`` at ``version`` and record the move; None if no change."""
    user, actor_name = actor_fields(actor)
    current = (
        Label.objects.select_related("version")
        .filter(prompt=prompt, name=label)
        .first()
    )
    if current is not None and current.version_id == version.id:
        return None
    from_number = current.version.number if current is not None else None
    if current is None:
        Label.objects.create(prompt=prompt, name=label, version=version)
    else:
        current.version = version
        current.save(update_fields=["version", "updated_at"])
    move = LabelMove.objects.create(
        prompt=prompt,
        label=label,
        from_version=from_number,
        to_version=version.number,
        moved_by=user,
        moved_by_name=actor_name,
    )
    if label != LATEST:
        events.label_moved(move)
    return move


def _touch(prompt):
    prompt.updated_at = timezone.now()
    prompt.save(update_fields=["updated_at"])
    prompt_cache.invalidate_on_commit(prompt.project_id, prompt.name)


def labels_add(*, version, labels, actor=None):
    """Add ``labels`` to ``version``, moving each off whichever version had it."""
    labels = clean_labels(labels, field="newLabels")
    prompt = version.prompt
    for label in labels:
        _check_protected(prompt.project, label, version, actor)
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().get(pk=prompt.pk)
        moves = [
            _point_label(prompt=prompt, label=label, version=version, actor=actor)
            for label in labels
        ]
        if any(moves):
            _touch(prompt)
    logger.info("Labels %s added to %s v%s", labels, prompt.name, version.number)
    return version


def label_move(*, prompt, label, version_number, actor=None):
    """Move one label to the version with that number (deploy or roll back).

    Refuses ``latest`` (the server keeps it on the newest version) and a move
    to the version the label is already on.
    """
    (label,) = clean_labels([label], field="label")
    version = prompt.versions.filter(number=version_number).first()
    if version is None:
        raise PromptNotFound(
            f"Prompt not found: '{prompt.name}' with version {version_number}"
        )
    _check_protected(prompt.project, label, version, actor)
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().get(pk=prompt.pk)
        move = _point_label(prompt=prompt, label=label, version=version, actor=actor)
        if move is None:
            raise PromptInputError(
                "label", f"'{label}' is already on version {version_number}"
            )
        _touch(prompt)
    logger.info(
        "Label %s of %s moved from v%s to v%s",
        label,
        prompt.name,
        move.from_version,
        move.to_version,
    )
    return move


def label_rollback(*, prompt, label, actor=None):
    """Move ``label`` back to the version it was on before its last move."""
    last = prompt.label_moves.filter(label=label).order_by("-moved_at", "-id").first()
    if last is None or last.from_version is None:
        raise PromptInputError(
            "label", f"'{label}' has no earlier version to roll back to"
        )
    return label_move(
        prompt=prompt, label=label, version_number=last.from_version, actor=actor
    )


# Versions -----------------------------------------------------------------


def _locked_prompt(*, project, name, prompt_type):
    """The prompt row, locked for this transaction, created if new.

    Returns ``(prompt, created)``. Two requests creating the same new name
    race on the insert; the loser's savepoint rolls back and it locks the
    winner's row instead.
    """
    for _ in range(CREATE_ATTEMPTS):
        prompt = (
            Prompt.objects.select_for_update()
            .filter(project=project, name=name)
            .first()
        )
        if prompt is not None:
            return prompt, False
        try:
            with transaction.atomic():
                prompt = Prompt.objects.create(
                    project=project, name=name, type=prompt_type, tags=[]
                )
            return prompt, True
        except IntegrityError:
            logger.info("Concurrent create of prompt %s; retrying", name)
    raise PromptInputError(
        "name", f"'{name}' is being created by another request; retry shortly"
    )


def _next_number(prompt):
    highest = prompt.versions.aggregate(highest=Max("number"))["highest"] or 0
    return max(highest, prompt.highest_version) + 1


def version_create(
    *,
    project,
    name,
    content,
    type=None,
    config=None,
    labels=(),
    tags=None,
    commit_message=None,
    actor=None,
):
    """Create the next version of ``name`` (and the prompt, if new).

    ``latest`` moves to the new version; requested ``labels`` move to it from
    wherever they were; ``tags`` replace the prompt's tags unless None.
    """
    name = clean_name(project, name)
    prompt_type = clean_type(type, content)
    content = clean_content(prompt_type, content)
    labels = clean_labels(labels)
    tags = clean_tags(tags)
    commit_message = clean_commit_message(commit_message)
    config = clean_config(config)
    user, actor_name = actor_fields(actor)

    with transaction.atomic():
        prompt, created = _locked_prompt(
            project=project, name=name, prompt_type=prompt_type
        )
        if not created and prompt.type != prompt_type:
            raise PromptInputError(
                "type",
                f"'{name}' is a {prompt.type} prompt; a {prompt_type} version "
                "needs a new name",
            )
        number = _next_number(prompt)
        version = PromptVersion.objects.create(
            prompt=prompt,
            number=number,
            content=content,
            config=config,
            commit_message=commit_message,
            created_by=user,
            created_by_name=actor_name,
        )
        for label in labels:
            _check_protected(project, label, version, actor)
        for label in [LATEST, *labels]:
            _point_label(prompt=prompt, label=label, version=version, actor=actor)
        prompt.highest_version = number
        update_fields = ["highest_version", "updated_at"]
        if tags is not None:
            prompt.tags = tags
            update_fields.append("tags")
        prompt.save(update_fields=update_fields)
        prompt_cache.invalidate_on_commit(project.id, name)
        events.version_created(version)
    logger.info("Created %s v%s in %s", name, number, project.slug)
    return version


# Deletion -----------------------------------------------------------------


def prompt_delete(*, project, name, version=None, label=None, actor=None):
    """Delete all versions of ``name``, or the one with that number or label.

    Returns the number of versions deleted. Labels on deleted versions are
    recorded as removed; ``latest`` moves to the newest remaining version.
    Deleting every version deletes the prompt, and its history with it.
    """
    if version is not None and label is not None:
        raise PromptInputError("version", "give either version or label, not both")
    with transaction.atomic():
        prompt = (
            Prompt.objects.select_for_update()
            .filter(project=project, name=name)
            .first()
        )
        if prompt is None:
            raise PromptNotFound(f"Prompt not found: '{name}'")
        doomed = prompt.versions.all()
        if version is not None:
            doomed = doomed.filter(number=version)
        elif label is not None:
            doomed = doomed.filter(labels__name=label)
        doomed = list(doomed)
        if not doomed:
            raise PromptNotFound(_delete_miss_message(name, version, label))
        for doomed_version in doomed:
            for protected in doomed_version.labels.filter(
                name__in=project.protected_labels or []
            ):
                _check_protected(project, protected.name, doomed_version, actor)
        count = len(doomed)
        if count == prompt.versions.count():
            prompt.delete()
        else:
            _remove_versions(prompt=prompt, versions=doomed, actor=actor)
        prompt_cache.invalidate_on_commit(project.id, name)
    logger.info("Deleted %s version(s) of %s in %s", count, name, project.slug)
    return count


def _delete_miss_message(name, version, label):
    if version is not None:
        return f"Prompt not found: '{name}' with version {version}"
    return f"Prompt not found: '{name}' with label '{label}'"


def _remove_versions(*, prompt, versions, actor):
    user, actor_name = actor_fields(actor)
    doomed_ids = {version.id for version in versions}
    moved_labels = list(
        Label.objects.select_related("version").filter(version_id__in=doomed_ids)
    )
    newest_left = prompt.versions.exclude(id__in=doomed_ids).order_by("-number").first()
    LabelMove.objects.bulk_create(
        LabelMove(
            prompt=prompt,
            label=moved.name,
            from_version=moved.version.number,
            to_version=None,
            moved_by=user,
            moved_by_name=actor_name,
        )
        for moved in moved_labels
        if moved.name != LATEST
    )
    if any(moved.name == LATEST for moved in moved_labels):
        # Move it before the delete cascades the label row away, so the
        # record says where it came from.
        _point_label(prompt=prompt, label=LATEST, version=newest_left, actor=actor)
    PromptVersion.objects.filter(id__in=doomed_ids).delete()
    prompt.save(update_fields=["updated_at"])


# Bulk import --------------------------------------------------------------


def prompts_import(*, project, prompts, labels=(), commit_message=None, actor=None):
    """Import ``prompts`` (``[(name, text)]``) as text prompts, in one transaction.

    A new name becomes version 1; a known name whose latest version holds
    the same text is skipped; otherwise it gets a new version. Returns
    ``{"created": n, "updated": n, "skipped": n}``. New prompts are written
    with a handful of bulk inserts, so thousands take seconds.
    """
    labels = clean_labels(labels)
    commit_message = clean_commit_message(commit_message)
    cleaned = {}
    for index, (name, text) in enumerate(prompts):
        name = clean_name(project, name)
        if name in cleaned:
            raise PromptInputError("name", f"'{name}' appears twice (row {index + 1})")
        cleaned[name] = clean_content(PromptType.TEXT, text)

    with transaction.atomic():
        existing = {
            prompt.name: prompt
            for prompt in Prompt.objects.select_for_update().filter(
                project=project, name__in=list(cleaned)
            )
        }
        latest_texts = dict(
            PromptVersion.objects.filter(
                prompt__in=list(existing.values()), labels__name=LATEST
            ).values_list("prompt__name", "content")
        )
        counts = {"created": 0, "updated": 0, "skipped": 0}
        fresh = {}
        for name, text in cleaned.items():
            if name not in existing:
                fresh[name] = text
            elif latest_texts.get(name) == text:
                counts["skipped"] += 1
            else:
                version_create(
                    project=project,
                    name=name,
                    content=text,
                    type=existing[name].type,
                    labels=labels,
                    commit_message=commit_message,
                    actor=actor,
                )
                counts["updated"] += 1
        _bulk_create_prompts(
            project=project,
            texts=fresh,
            labels=labels,
            commit_message=commit_message,
            actor=actor,
        )
        counts["created"] = len(fresh)
        prompt_cache.invalidate_on_commit(project.id, *fresh)
    logger.info("Imported prompts into %s: %s", project.slug, counts)
    return counts


def _bulk_create_prompts(*, project, texts, labels, commit_message, actor):
    from simple_history.utils import bulk_create_with_history

    user, actor_name = actor_fields(actor)
    prompts = [
        Prompt(
            project=project,
            name=name,
            type=PromptType.TEXT,
            tags=[],
            highest_version=1,
        )
        for name in texts
    ]
    bulk_create_with_history(prompts, Prompt, batch_size=500)
    versions = [
        PromptVersion(
            prompt=prompt,
            number=1,
            content=texts[prompt.name],
            config={},
            commit_message=commit_message,
            created_by=user,
            created_by_name=actor_name,
        )
        for prompt in prompts
    ]
    PromptVersion.objects.bulk_create(versions, batch_size=500)
    for version in versions:
        for label in labels:
            _check_protected(project, label, version, actor)
    new_labels = [
        Label(prompt=version.prompt, name=label, version=version)
        for version in versions
        for label in [LATEST, *labels]
    ]
    bulk_create_with_history(new_labels, Label, batch_size=500)
    LabelMove.objects.bulk_create(
        (
            LabelMove(
                prompt=label.prompt,
                label=label.name,
                from_version=None,
                to_version=1,
                moved_by=user,
                moved_by_name=actor_name,
            )
            for label in new_labels
        ),
        batch_size=500,
    )
