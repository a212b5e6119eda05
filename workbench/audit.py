"""The audit log: what happened in one project, newest first (reads only).

Rows come from several sources: the django-simple-history tables of the
project's models, the deployment history (LabelMove) and the versions
themselves. Each source is one queryset, scoped to the project and
filtered in SQL, that yields uniform rows (``at``, ``seq``, ``actor_id``,
``actor_name``, ``action``, ``prompt_name`` plus its own detail fields);
the sources are merged by time in Python. A page reads at most
``offset + limit + 1`` rows per source; the CSV export streams every source
through a cursor, so neither holds the whole log in memory.

Left out on purpose: Label history (every change of it is also a LabelMove,
which says from which version to which and names API keys as actors),
moves of ``latest`` (it follows every new version, which has its own row),
and personal access tokens (they belong to users, not to projects).
"""

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from django.db.models import (
    Case,
    CharField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Replace
from django.utils import timezone
from guardian.models import UserObjectPermission

from prompts.models import (
    LATEST,
    Comment,
    FolderGrant,
    LabelMove,
    Prompt,
    PromptVersion,
    Review,
    ReviewRequest,
)
from prompts.selectors import PERMISSION_ROLES

from .models import ApiKey, Membership, Project, Webhook

PAGE_SIZE = 50
CSV_CHUNK_SIZE = 1000
NO_ACTOR = ""


@dataclass(frozen=True)
class AuditFilters:
    """What the reader asked for; empty values filter nothing."""

    actor_id: int | None = None
    prompt: str = ""
    action: str = ""
    date_from: object = None
    date_to: object = None

    def bounds(self):
        """``(start, end)`` aware datetimes: from midnight, to the next one."""
        tz = timezone.get_current_timezone()
        start = end = None
        if self.date_from:
            start = timezone.make_aware(datetime.combine(self.date_from, time()), tz)
        if self.date_to:
            end_day = self.date_to + timedelta(days=1)
            end = timezone.make_aware(datetime.combine(end_day, time()), tz)
        return start, end


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    prompt_name: str | None
    description: str
    prompt_gone: bool = False

    @property
    def action_label(self):
        return action_label(self.action)


@dataclass(frozen=True)
class Source:
    """One kind of record and how its rows read in the log."""

    actions: tuple[str, ...]
    rows: Callable[[Project], QuerySet]
    describe: Callable[[dict], str]
    has_prompt: bool = False
    fields: tuple[str, ...] = field(default=())

    def filtered(self, project, filters):
        """The source's rows for ``filters``, newest first, or None if it
        cannot match them (another source's action, no prompt to match)."""
        if filters.action and filters.action not in self.actions:
            return None
        if filters.prompt and not self.has_prompt:
            return None
        rows = self.rows(project)
        if filters.action:
            rows = rows.filter(action=filters.action)
        if filters.prompt:
            rows = rows.filter(prompt_name__icontains=filters.prompt)
        if filters.actor_id is not None:
            rows = rows.filter(actor_id=filters.actor_id)
        start, end = filters.bounds()
        if start:
            rows = rows.filter(at__gte=start)
        if end:
            rows = rows.filter(at__lt=end)
        columns = ["at", "seq", "actor_id", "actor_name", "action", "prompt_name"]
        return rows.order_by("-at", "-seq").values(*columns, *self.fields)

    def entry(self, row):
        return AuditEntry(
            at=row["at"],
            actor_id=row["actor_id"],
            actor_name=row["actor_name"] or NO_ACTOR,
            action=row["action"],
            prompt_name=row["prompt_name"],
            description=self.describe(row),
        )


# Building blocks ------------------------------------------------------------


def _text(value):
    return Value(value, output_field=CharField())


def _previous(history_model, column):
    """The value ``column`` had in the object's history row before this one."""
    return Subquery(
        history_model.objects.filter(
            id=OuterRef("id"), history_id__lt=OuterRef("history_id")
        )
        .order_by("-history_id")
        .values(column)[:1]
    )


def _by_type(added, changed, removed):
    """The action of a history row by its type: created, changed, deleted."""
    return Case(
        When(history_type="+", then=_text(added)),
        When(history_type="-", then=_text(removed)),
        default=_text(changed),
        output_field=CharField(),
    )


def _history(
    model, project_filter, *, action, actor_id=None, actor_name=None, previous=()
):
    """A history table's rows in the uniform shape.

    ``previous`` names columns whose value before this row is annotated as
    ``prev_<column>`` (``action`` may use them). The actor is the user
    simple-history recorded; when it recorded none (a service run outside a
    request) ``actor_id``/``actor_name`` say who the row itself names.
    """
    history = model.history.model
    rows = history.objects.filter(**project_filter)
    if previous:
        rows = rows.annotate(
            **{f"prev_{column}": _previous(history, column) for column in previous}
        )
    rows = rows.annotate(at=F("history_date"), seq=F("history_id"), action=action)
    return rows.annotate(
        actor_id=Coalesce(
            F("history_user_id"),
            actor_id if actor_id is not None else Value(None),
            output_field=IntegerField(),
        ),
        actor_name=Coalesce(
            F("history_user__username"),
            actor_name if actor_name is not None else _text(NO_ACTOR),
            output_field=CharField(),
        ),
    )


def _when_created(column):
    """The object's own "created by" column, for the row of its creation."""
    return _when_created_by(F(column))


def _unless_deleted(column):
    return Case(When(history_type="-", then=Value(None)), default=F(column))


def _when_created_by(expression):
    # Who created an object says nothing of who changed or deleted it.
    return Case(When(history_type="+", then=expression), default=Value(None))


def _short(text, limit=80):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change(label, before, after):
    return f"{label}: {before} → {after}"


# Sources --------------------------------------------------------------------


PROJECT_SETTINGS = {
    "name": "name",
    "naming_rule": "naming rule",
    "protected_labels": "protected labels",
    "required_approvals": "approvals required",
    "author_approval_counts": "author's approval counts",
}


def _project_rows(project):
    return _history(
        Project,
        {"id": project.id, "history_type__in": ["+", "~"]},
        action=_by_type(
            "project created", "project settings changed", "project deleted"
        ),
        previous=PROJECT_SETTINGS,
    ).annotate(
        prompt_name=Value(None, output_field=CharField()),
        **{f"now_{column}": F(column) for column in PROJECT_SETTINGS},
    )


def _setting_text(value):
    if isinstance(value, list):
        return ", ".join(value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in (None, "") else "none"


def _describe_project(row):
    if row["action"] == "project created":
        return f"{row['now_name']} created"
    changes = [
        _change(
            label,
            _setting_text(row[f"prev_{column}"]),
            _setting_text(row[f"now_{column}"]),
        )
        for column, label in PROJECT_SETTINGS.items()
        if row[f"prev_{column}"] != row[f"now_{column}"]
    ]
    return "; ".join(changes) or "saved without changes"


def _membership_rows(project):
    return _history(
        Membership,
        {"project_id": project.id},
        action=_by_type("member added", "member role changed", "member removed"),
        previous=["role"],
    ).annotate(
        prompt_name=Value(None, output_field=CharField()),
        member=F("user__username"),
        now_role=F("role"),
    )


def _describe_membership(row):
    if row["action"] == "member added":
        return f"{row['member']} joined as {row['now_role']}"
    if row["action"] == "member removed":
        return f"{row['member']} (was {row['now_role']}) removed"
    return _change(row["member"], row["prev_role"], row["now_role"])


def _api_key_rows(project):
    return _history(
        ApiKey,
        {"project_id": project.id},
        action=Case(
            When(history_type="+", then=_text("api key created")),
            When(history_type="-", then=_text("api key deleted")),
            When(
                revoked_at__isnull=False,
                prev_revoked_at__isnull=True,
                then=_text("api key revoked"),
            ),
            default=_text("api key changed"),
            output_field=CharField(),
        ),
        actor_id=_when_created("created_by_id"),
        actor_name=_when_created("created_by__username"),
        previous=["revoked_at"],
    ).annotate(
        prompt_name=Value(None, output_field=CharField()),
        key=F("public_key"),
        key_note=F("note"),
        hint=F("secret_hint"),
    )


def _describe_api_key(row):
    note = f" ({_short(row['key_note'], 40)})" if row["key_note"] else ""
    return f"{row['key']} {row['hint']}{note}"


def _webhook_rows(project):
    return _history(
        Webhook,
        {"project_id": project.id},
        action=_by_type("webhook added", "webhook changed", "webhook removed"),
        actor_id=_when_created("created_by_id"),
        actor_name=_when_created("created_by__username"),
        previous=["active"],
    ).annotate(
        prompt_name=Value(None, output_field=CharField()),
        hook_url=F("url"),
        now_active=F("active"),
    )


def _describe_webhook(row):
    text = _short(row["hook_url"], 60)
    if row["action"] != "webhook changed" or row["prev_active"] is None:
        return text
    if row["prev_active"] != row["now_active"]:
        return f"{text} switched {'on' if row['now_active'] else 'off'}"
    return text


def _first_version(column):
    # A prompt is created with its first version, whose author made both.
    return Subquery(
        PromptVersion.objects.filter(prompt_id=OuterRef("id"), number=1).values(column)[
            :1
        ]
    )


def _prompt_rows(project):
    # Other changes to a prompt row are bookkeeping (updated_at, the
    # highest version number) that the version rows already tell.
    return _history(
        Prompt,
        {"project_id": project.id, "history_type__in": ["+", "-"]},
        action=_by_type("prompt created", "prompt changed", "prompt deleted"),
        actor_id=_when_created_by(_first_version("created_by_id")),
        actor_name=_when_created_by(_first_version("created_by_name")),
    ).annotate(prompt_name=F("name"), prompt_type=F("type"))


def _describe_prompt(row):
    if row["action"] == "prompt deleted":
        return f"{row['prompt_name']} and all its versions deleted"
    return f"{row['prompt_type']} prompt"


def _folder_grant_rows(project):
    return _history(
        FolderGrant,
        {"project_id": project.id},
        action=_by_type(
            "folder grant added", "folder grant changed", "folder grant removed"
        ),
        # Setting a grant again records its new granter on the row.
        actor_id=_unless_deleted("granted_by_id"),
        actor_name=_unless_deleted("granted_by__username"),
        previous=["role"],
    ).annotate(
        prompt_name=Value(None, output_field=CharField()),
        grantee=F("user__username"),
        folder=F("prefix"),
        now_role=F("role"),
    )


def _describe_folder_grant(row):
    where = f"prompts starting with {row['folder']}"
    if row["action"] == "folder grant changed":
        return f"{row['grantee']} on {where}: {row['prev_role']} → {row['now_role']}"
    return f"{row['grantee']} as {row['now_role']} on {where}"


def _granted_prompt(column):
    """The prompt a guardian row's text ``object_pk`` names, read as a UUID.

    Hyphens are dropped first: SQLite keeps UUIDs as 32 hex digits, and
    PostgreSQL reads that form as well.
    """
    return Prompt.objects.filter(
        id=Cast(Replace(OuterRef("object_pk"), Value("-"), Value("")), UUIDField())
    ).values(column)[:1]


def _prompt_grant_rows(project):
    return (
        _history(
            UserObjectPermission,
            {"content_type__app_label": "prompts", "content_type__model": "prompt"},
            action=_by_type(
                "prompt grant added", "prompt grant changed", "prompt grant removed"
            ),
        )
        .annotate(
            prompt_project=Subquery(_granted_prompt("project_id")),
            prompt_name=Subquery(_granted_prompt("name")),
            grantee=F("user__username"),
            codename=F("permission__codename"),
        )
        .filter(prompt_project=project.id)
    )


def _describe_prompt_grant(row):
    role = PERMISSION_ROLES.get(row["codename"], row["codename"])
    return f"{row['grantee']} as {role} on this prompt"


def _review_request_rows(project):
    # A request's later rows only close it, which a newer request explains.
    return _history(
        ReviewRequest,
        {"version__prompt__project_id": project.id, "history_type": "+"},
        action=_text("review requested"),
        actor_id=F("requested_by_id"),
        actor_name=F("requested_by__username"),
    ).annotate(
        prompt_name=F("version__prompt__name"),
        number=F("version__number"),
        text=F("message"),
    )


def _describe_versioned(row):
    text = _short(row["text"])
    return f"v{row['number']}: {text}" if text else f"v{row['number']}"


def _review_rows(project):
    return _history(
        Review,
        {"version__prompt__project_id": project.id, "history_type": "+"},
        action=Case(
            When(decision="approve", then=_text("version approved")),
            default=_text("changes requested"),
            output_field=CharField(),
        ),
        actor_id=F("reviewer_id"),
        actor_name=F("reviewer_name"),
    ).annotate(
        prompt_name=F("version__prompt__name"),
        number=F("version__number"),
        text=F("body"),
    )


def _comment_rows(project):
    resolving = Q(resolved_at__isnull=False, prev_resolved_at__isnull=True)
    return _history(
        Comment,
        {"version__prompt__project_id": project.id, "history_type__in": ["+", "~"]},
        action=Case(
            When(history_type="+", then=_text("comment added")),
            When(
                deleted_at__isnull=False,
                prev_deleted_at__isnull=True,
                then=_text("comment deleted"),
            ),
            When(resolving, then=_text("comment resolved")),
            When(
                resolved_at__isnull=True,
                prev_resolved_at__isnull=False,
                then=_text("comment reopened"),
            ),
            default=_text("comment edited"),
            output_field=CharField(),
        ),
        # Only the author edits or deletes; whoever resolved is on the row.
        actor_id=Case(
            When(resolving, then=F("resolved_by_id")), default=F("author_id")
        ),
        actor_name=Case(
            When(resolving, then=F("resolved_by__username")),
            default=F("author_name"),
        ),
        previous=["resolved_at", "deleted_at"],
    ).annotate(
        prompt_name=F("version__prompt__name"),
        number=F("version__number"),
        text=F("body"),
    )


def _label_move_rows(project):
    return (
        LabelMove.objects.filter(prompt__project_id=project.id)
        .exclude(label=LATEST)
        .annotate(
            at=F("moved_at"),
            seq=F("id"),
            actor_id=F("moved_by_id"),
            actor_name=F("moved_by_name"),
            action=_text("label moved"),
            prompt_name=F("prompt__name"),
        )
    )


def _describe_label_move(row):
    label, before, after = row["label"], row["from_version"], row["to_version"]
    if before is None:
        return f"{label} set on v{after}"
    if after is None:
        return f"{label} removed from v{before}"
    return f"{label}: v{before} → v{after}"


def _version_rows(project):
    return PromptVersion.objects.filter(prompt__project_id=project.id).annotate(
        at=F("created_at"),
        seq=F("number"),
        actor_id=F("created_by_id"),
        actor_name=F("created_by_name"),
        action=_text("version created"),
        prompt_name=F("prompt__name"),
        text=F("commit_message"),
    )


SOURCES = (
    Source(
        ("project created", "project settings changed"),
        _project_rows,
        _describe_project,
        fields=tuple(
            f"{when}_{column}"
            for column in PROJECT_SETTINGS
            for when in ("prev", "now")
        ),
    ),
    Source(
        ("member added", "member role changed", "member removed"),
        _membership_rows,
        _describe_membership,
        fields=("member", "now_role", "prev_role"),
    ),
    Source(
        ("api key created", "api key revoked", "api key changed", "api key deleted"),
        _api_key_rows,
        _describe_api_key,
        fields=("key", "key_note", "hint"),
    ),
    Source(
        ("webhook added", "webhook changed", "webhook removed"),
        _webhook_rows,
        _describe_webhook,
        fields=("hook_url", "now_active", "prev_active"),
    ),
    Source(
        ("prompt created", "prompt deleted"),
        _prompt_rows,
        _describe_prompt,
        has_prompt=True,
        fields=("prompt_type",),
    ),
    Source(
        ("version created",),
        _version_rows,
        _describe_versioned,
        has_prompt=True,
        fields=("number", "text"),
    ),
    Source(
        ("label moved",),
        _label_move_rows,
        _describe_label_move,
        has_prompt=True,
        fields=("label", "from_version", "to_version"),
    ),
    Source(
        ("folder grant added", "folder grant changed", "folder grant removed"),
        _folder_grant_rows,
        _describe_folder_grant,
        fields=("grantee", "folder", "now_role", "prev_role"),
    ),
    Source(
        ("prompt grant added", "prompt grant changed", "prompt grant removed"),
        _prompt_grant_rows,
        _describe_prompt_grant,
        has_prompt=True,
        fields=("grantee", "codename"),
    ),
    Source(
        ("review requested",),
        _review_request_rows,
        _describe_versioned,
        has_prompt=True,
        fields=("number", "text"),
    ),
    Source(
        ("version approved", "changes requested"),
        _review_rows,
        _describe_versioned,
        has_prompt=True,
        fields=("number", "text"),
    ),
    Source(
        (
            "comment added",
            "comment edited",
            "comment resolved",
            "comment reopened",
            "comment deleted",
        ),
        _comment_rows,
        _describe_versioned,
        has_prompt=True,
        fields=("number", "text"),
    ),
)

ACTIONS = tuple(action for source in SOURCES for action in source.actions)


def action_label(action):
    """How an action reads on the page: "api key created" is "API key created"."""
    return action.replace("api key", "API key")


# Reading ------------------------------------------------------------------


def _keyed(source, rows):
    # heapq.merge needs every input sorted by one key: the time, then the
    # source's own sequence, the order each source's query reads in.
    for row in rows:
        yield (row["at"], row["seq"]), source.entry(row)


def _merged(project, filters, *, per_source=None):
    """Entries of every source that can match, newest first, merged lazily.

    With ``per_source`` each source reads at most that many rows; without
    it each is read through a cursor in chunks.
    """
    streams = []
    for source in SOURCES:
        rows = source.filtered(project, filters)
        if rows is None:
            continue
        if per_source is None:
            rows = rows.iterator(chunk_size=CSV_CHUNK_SIZE)
        else:
            rows = rows[:per_source]
        streams.append(_keyed(source, rows))
    for _, entry in heapq.merge(*streams, key=lambda pair: pair[0], reverse=True):
        yield entry


def last_page(project, filters):
    """The number of the log's last page for ``filters``; 1 when it is empty.

    One COUNT query per source that can match.
    """
    total = 0
    for source in SOURCES:
        rows = source.filtered(project, filters)
        if rows is not None:
            total += rows.count()
    return max(1, math.ceil(total / PAGE_SIZE))


def audit_page(project, filters, page=1):
    """``(entries, has_next)`` for page ``page`` (from 1) of the log.

    One query per source that can match ``filters``, each reading at most
    ``page * PAGE_SIZE + 1`` rows, and one to find which prompts still exist.
    A page past the last one is empty; from page 2 on the log is counted
    first, so a huge page number reads no rows.
    """
    if page > 1 and page > last_page(project, filters):
        return [], False
    offset = (page - 1) * PAGE_SIZE
    rows = list(
        itertools.islice(
            _merged(project, filters, per_source=offset + PAGE_SIZE + 1),
            offset,
            offset + PAGE_SIZE + 1,
        )
    )
    return _mark_deleted_prompts(project, rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def _mark_deleted_prompts(project, entries):
    # The page links each prompt; a deleted one has no page to link to.
    names = {entry.prompt_name for entry in entries if entry.prompt_name}
    existing = set(
        Prompt.objects.filter(project=project, name__in=names).values_list(
            "name", flat=True
        )
    )
    return [
        replace(entry, prompt_gone=True)
        if entry.prompt_name and entry.prompt_name not in existing
        else entry
        for entry in entries
    ]


def audit_entries(project, filters):
    """Every entry matching ``filters``, newest first, read in chunks."""
    return _merged(project, filters)
