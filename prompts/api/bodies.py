"""The JSON shapes of the prompt API, as Langfuse clients parse them."""

import json

from prompts.selectors import PRODUCTION, version_labels


def timestamp(moment):
    """ISO 8601 in UTC with milliseconds and ``Z``, as Langfuse writes it."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prompt_body(version):
    """The prompt object for one version (reads its labels: one query)."""
    prompt = version.prompt
    labels = version_labels(version)
    label_names = [name for name, _ in labels]
    updated_at = max([version.created_at, *(moved for _, moved in labels)])
    return {
        "id": str(version.id),
        "name": prompt.name,
        "version": version.number,
        "type": prompt.type,
        "prompt": version.content,
        "config": version.config,
        "labels": label_names,
        "tags": prompt.tags,
        "commitMessage": version.commit_message,
        "createdAt": timestamp(version.created_at),
        "updatedAt": timestamp(updated_at),
        "createdBy": version.created_by_name,
        "resolutionGraph": None,
        "isActive": PRODUCTION in label_names,
        "projectId": str(prompt.project_id),
    }


def encode(body):
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def prompt_row(row):
    prompt = row["prompt"]
    return {
        "name": prompt.name,
        "type": prompt.type,
        "versions": row["versions"],
        "labels": row["labels"],
        "tags": prompt.tags,
        "lastUpdatedAt": timestamp(prompt.updated_at),
        "lastConfig": row["last_config"],
    }
