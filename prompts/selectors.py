"""Reads of the prompt registry, always scoped to one project."""

from django.db import connection

from .errors import PromptNotFound
from .models import LATEST, Label, Prompt, PromptVersion

PRODUCTION = "production"


def version_for(project_id, name, *, label=None, version=None):
    """The version of ``name`` with that number or label (default production).

    Raises PromptNotFound with the message Langfuse clients expect.
    """
    versions = PromptVersion.objects.select_related("prompt").filter(
        prompt__project_id=project_id, prompt__name=name
    )
    if version is not None:
        found = versions.filter(number=version).first()
        if found is None:
            raise PromptNotFound(f"Prompt not found: '{name}' with version {version}")
        return found
    label = label or PRODUCTION
    found = versions.filter(labels__name=label).first()
    if found is None:
        raise PromptNotFound(f"Prompt not found: '{name}' with label '{label}'")
    return found


def prompt_for(project_id, name):
    prompt = Prompt.objects.filter(project_id=project_id, name=name).first()
    if prompt is None:
        raise PromptNotFound(f"Prompt not found: '{name}'")
    return prompt


def version_labels(version):
    """``[(name, updated_at)]`` of the labels on ``version``, by name."""
    return list(
        Label.objects.filter(version=version)
        .order_by("name")
        .values_list("name", "updated_at")
    )


def prompt_page(
    project_id,
    *,
    name=None,
    label=None,
    tag=None,
    from_updated_at=None,
    to_updated_at=None,
    page=1,
    limit=10,
):
    """One page of the project's prompts, by name, and the total count.

    Each row is a dict with the prompt and its ``versions`` (numbers),
    ``labels`` (union over versions) and ``last_config``; four queries
    whatever the page size.
    """
    prompts = Prompt.objects.filter(project_id=project_id).order_by("name")
    if name:
        prompts = prompts.filter(name=name)
    if label:
        prompts = prompts.filter(labels__name=label)
    if from_updated_at:
        prompts = prompts.filter(updated_at__gte=from_updated_at)
    if to_updated_at:
        prompts = prompts.filter(updated_at__lt=to_updated_at)
    if tag:
        prompts = _with_tag(prompts, tag)
    total = prompts.count()
    offset = (page - 1) * limit
    page_prompts = list(prompts[offset : offset + limit])
    return _page_rows(page_prompts), total


def _with_tag(prompts, tag):
    if connection.features.supports_json_field_contains:
        return prompts.filter(tags__contains=[tag])
    # SQLite has no JSON containment: match the ids in Python instead.
    ids = [pk for pk, tags in prompts.values_list("id", "tags") if tag in tags]
    return prompts.filter(id__in=ids)


def _page_rows(prompts):
    ids = [prompt.id for prompt in prompts]
    versions = {prompt_id: [] for prompt_id in ids}
    for prompt_id, number in (
        PromptVersion.objects.filter(prompt_id__in=ids)
        .order_by("number")
        .values_list("prompt_id", "number")
    ):
        versions[prompt_id].append(number)
    labels = {prompt_id: [] for prompt_id in ids}
    for prompt_id, label_name in (
        Label.objects.filter(prompt_id__in=ids)
        .order_by("name")
        .values_list("prompt_id", "name")
    ):
        labels[prompt_id].append(label_name)
    last_configs = dict(
        PromptVersion.objects.filter(
            prompt_id__in=ids, labels__name=LATEST
        ).values_list("prompt_id", "config")
    )
    return [
        {
            "prompt": prompt,
            "versions": versions[prompt.id],
            "labels": labels[prompt.id],
            "last_config": last_configs.get(prompt.id),
        }
        for prompt in prompts
    ]
