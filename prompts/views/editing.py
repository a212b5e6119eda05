"""Pages that write prompts: edit (next version), new prompt, live preview.

The form is built for people who are not engineers: a plain textarea for
text prompts, one row per chat message, config as name/value pairs (with a
raw JSON mode for engineers) and a required commit message. Every error is
shown next to its field and nothing the user typed is lost.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from workbench.models import Role
from workbench.selectors import project_for_user
from workbench.views import open_project

from .. import services
from ..errors import PromptForbidden, PromptInputError
from ..models import LATEST, VARIABLE_PATTERN, Label, Prompt, PromptType
from ..selectors import prompt_for_user

CHAT_ROLES = ("system", "user", "assistant")
# What each role means, in words for people who do not write code.
ROLE_HINTS = {
    "system": "System: instructions for the model",
    "user": "User: what the person says",
    "assistant": "Assistant: what the model answers",
}
MESSAGE, PLACEHOLDER = "message", "placeholder"
CONFIG_FIELDS, CONFIG_RAW = "fields", "raw"
MESSAGE_FIELD = re.compile(r"^message-(\d+)-(kind|role|content|name)$")
CONFIG_FIELD = re.compile(r"^config-(\d+)-(key|value)$")
# A field of one message or config row: (list, row index, part).
ROW_FIELD = re.compile(r"^(message|config)-(\d+)-(\w+)$")
SERVICE_MESSAGE_FIELD = re.compile(r"^prompt\[(\d+)\]\.(role|content|name)$")
SAMPLE_PREFIX = "sample:"
FORM_ERROR = "form"
BASE_VERSION = "base_version"
# A second identical save by the same person within this many seconds is the
# same click arriving twice (a double click, a resent form), not a new edit.
REPEATED_SAVE_SECONDS = 60


# Config values --------------------------------------------------------------


def _finite_float(text):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed in JSON")


def strict_json(text):
    """``json.loads`` without NaN or Infinity, which the database refuses."""
    return json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)


def config_value(text):
    """A config value as typed: JSON when it parses (0.2, true, [..]), else text."""
    try:
        return strict_json(text)
    except ValueError:
        return text


def config_text(value):
    """How a stored config value is shown in its input; ``config_value`` undoes it.

    A string that would parse as JSON (``"42"``) is shown quoted, so saving
    the form unchanged keeps it a string.
    """
    if isinstance(value, str):
        try:
            strict_json(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False)


# The form -------------------------------------------------------------------


@dataclass
class MessageRow:
    """A chat message (``role`` + ``content``) or a placeholder (``name``)."""

    kind: str = MESSAGE
    role: str = "user"
    content: str = ""
    name: str = ""
    errors: dict = field(default_factory=dict)

    @property
    def is_placeholder(self):
        return self.kind == PLACEHOLDER

    @property
    def role_choices(self):
        """``[(value, label)]`` for the role select; a stored unusual role stays."""
        choices = [(role, ROLE_HINTS[role]) for role in CHAT_ROLES]
        if self.role and self.role not in CHAT_ROLES:
            choices.append((self.role, self.role))
        return choices

    def as_content(self):
        if self.is_placeholder:
            return {"type": PLACEHOLDER, "name": self.name}
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_content(cls, item):
        if isinstance(item, dict) and item.get("type") == PLACEHOLDER:
            return cls(kind=PLACEHOLDER, role="", name=str(item.get("name", "")))
        if not isinstance(item, dict):
            return cls(content=json.dumps(item, ensure_ascii=False))
        content = item.get("content", "")
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        return cls(role=str(item.get("role", "user")), content=content)


@dataclass
class ConfigRow:
    key: str = ""
    value: str = ""
    errors: dict = field(default_factory=dict)


@dataclass
class PromptForm:
    """What the edit form holds, parsed from a version or from POST data.

    ``errors`` maps a field name (as posted, e.g. ``commit_message``,
    ``config``, ``message-2-content``) to what is wrong with it; row errors
    are also kept on their row so the template can show them in place.
    """

    type: str
    name: str = ""
    content: str = ""
    messages: list = field(default_factory=list)
    config_rows: list = field(default_factory=list)
    config_mode: str = CONFIG_FIELDS
    config_raw: str = ""
    labels: list = field(default_factory=list)
    commit_message: str = ""
    base_version: int | None = None
    # Set when someone saved a newer version than the one this form started from.
    stale_from: int | None = None
    errors: dict = field(default_factory=dict)

    @property
    def is_chat(self):
        return self.type == PromptType.CHAT

    @classmethod
    def blank(cls, prompt_type=PromptType.TEXT):
        return cls(
            type=prompt_type,
            messages=[MessageRow(role="system"), MessageRow(role="user")],
            config_rows=[ConfigRow()],
            config_raw="{}",
        )

    @classmethod
    def from_version(cls, prompt, version):
        """The form prefilled with ``version`` (None: an empty form)."""
        if version is None:
            form = cls.blank(prompt.type)
            form.name = prompt.name
            return form
        content = version.content
        config = version.config or {}
        rows = [ConfigRow(key, config_text(value)) for key, value in config.items()]
        return cls(
            type=prompt.type,
            name=prompt.name,
            content=content if isinstance(content, str) else "",
            messages=[MessageRow.from_content(item) for item in content]
            if isinstance(content, list)
            else [],
            config_rows=rows or [ConfigRow()],
            config_raw=json.dumps(config, indent=2, ensure_ascii=False),
            base_version=version.number,
        )

    @classmethod
    def from_post(cls, data, *, prompt_type=None):
        """The form as posted; ``prompt_type`` (an existing prompt's) wins."""
        posted_type = data.get("type", "")
        form = cls(
            type=prompt_type or posted_type,
            name=data.get("name", "").strip(),
            content=typed_text(data.get("content", "")),
            messages=posted_messages(data),
            config_rows=posted_config_rows(data),
            config_mode=posted_config_mode(data),
            config_raw=data.get("config", ""),
            labels=data.getlist("labels"),
            commit_message=data.get("commit_message", "").strip(),
        )
        if form.type not in PromptType.values:
            form.add_error("type", "Choose text or chat.")
        form.base_version = posted_base_version(form, data.get("base_version"))
        return form

    def add_error(self, name, reason):
        self.errors.setdefault(name, reason)
        match = ROW_FIELD.match(name)
        if match:
            rows = self.messages if match[1] == "message" else self.config_rows
            index = int(match[2])
            if index < len(rows):
                rows[index].errors.setdefault(match[3], reason)

    def cleaned(self):
        """``(content, config)`` for the service, or None with ``errors`` filled."""
        content = self._clean_chat() if self.is_chat else self._clean_text()
        config = self._clean_config()
        if not self.commit_message:
            self.add_error(
                "commit_message",
                "A commit message is required: say in a few words what you "
                "changed and why.",
            )
        if self.errors:
            return None
        return content, config

    def _clean_text(self):
        if not self.content.strip():
            self.add_error("content", "Write the prompt text.")
        return self.content

    def _clean_chat(self):
        if not self.messages:
            self.add_error("messages", "Add at least one message.")
        for index, row in enumerate(self.messages):
            prefix = f"message-{index}"
            if row.is_placeholder:
                if not row.name.strip():
                    self.add_error(f"{prefix}-name", "Give the placeholder a name.")
                continue
            if not row.role.strip():
                self.add_error(f"{prefix}-role", "Choose who says this message.")
            if not row.content.strip():
                self.add_error(
                    f"{prefix}-content", "Write the message, or remove this row."
                )
        return [row.as_content() for row in self.messages]

    def _clean_config(self):
        if self.config_mode == CONFIG_RAW:
            return self._clean_raw_config()
        config = {}
        for index, row in enumerate(self.config_rows):
            key = row.key.strip()
            if not key and not row.value.strip():
                continue
            if not key:
                self.add_error(f"config-{index}-key", "Give this setting a name.")
            elif key in config:
                self.add_error(f"config-{index}-key", f"'{key}' is set twice.")
            else:
                config[key] = config_value(row.value.strip())
        return config

    def _clean_raw_config(self):
        text = self.config_raw.strip()
        if not text:
            return {}
        try:
            config = strict_json(text)
        except ValueError as error:
            self.add_error("config", f"This is not valid JSON: {error}.")
            return None
        if not isinstance(config, dict):
            self.add_error(
                "config", 'The config must be a JSON object, like {"temperature": 0.2}.'
            )
            return None
        return config


def posted_base_version(form, raw):
    """The version number the form started from; None when not posted.

    Anything but a whole number is an error on ``base_version``: the page
    never sends one, so the form is not from this site's edit page.
    """
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        form.add_error(
            BASE_VERSION,
            f"'{raw}' is not a version number: reload the edit page and save again.",
        )
        return None


def typed_text(value):
    """Text from a textarea with the line breaks the user typed.

    Browsers send every line break in a textarea as CRLF; prompts fetched by
    services must hold the plain newlines an API client would have sent.
    """
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _indexed(data, pattern):
    """``[(index, {part: value})]`` of posted ``<prefix>-<index>-<part>`` fields,
    by index; indices may have gaps (rows removed in the browser)."""
    rows = {}
    for key in data:
        match = pattern.match(key)
        if match:
            rows.setdefault(int(match[1]), {})[match[2]] = data.get(key)
    return sorted(rows.items())


def posted_messages(data):
    found = []
    for _, parts in _indexed(data, MESSAGE_FIELD):
        if parts.get("kind") == PLACEHOLDER:
            found.append(
                MessageRow(
                    kind=PLACEHOLDER, role="", name=parts.get("name", "").strip()
                )
            )
        else:
            found.append(
                MessageRow(
                    role=parts.get("role", "").strip(),
                    content=typed_text(parts.get("content", "")),
                )
            )
    return found


def posted_config_rows(data):
    return [
        ConfigRow(parts.get("key", ""), parts.get("value", ""))
        for _, parts in _indexed(data, CONFIG_FIELD)
    ]


def posted_config_mode(data):
    """Raw JSON when chosen, or when only the ``config`` textarea was posted."""
    mode = data.get("config_mode")
    if mode in (CONFIG_FIELDS, CONFIG_RAW):
        return mode
    has_rows = any(CONFIG_FIELD.match(key) for key in data)
    if not has_rows and data.get("config", "").strip():
        return CONFIG_RAW
    return CONFIG_FIELDS


# Saving -----------------------------------------------------------------------


def service_field(error, form):
    """The form field a service's PromptInputError is about."""
    match = SERVICE_MESSAGE_FIELD.match(error.field)
    if match:
        return f"message-{match[1]}-{match[2]}"
    if error.field == "prompt":
        return "messages" if form.is_chat else "content"
    return {
        "commitMessage": "commit_message",
        "newLabels": "labels",
    }.get(error.field, error.field)


def save_version(form, cleaned, *, project, name, actor):
    """Create the next version from ``form.cleaned()``; None with errors set."""
    content, config = cleaned
    try:
        return services.version_create(
            project=project,
            name=name,
            type=form.type,
            content=content,
            config=config,
            labels=form.labels,
            commit_message=form.commit_message,
            actor=actor,
        )
    except PromptInputError as error:
        form.add_error(service_field(error, form), error.reason)
    except PromptForbidden as error:
        form.add_error("labels", error.message)
    return None


def offered_labels(project):
    """Labels the project uses that an editor may set: not protected, not latest."""
    hidden = {LATEST, *(project.protected_labels or [])}
    names = (
        Label.objects.filter(prompt__project=project)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )
    return [name for name in names if name not in hidden]


def refuse_protected_labels(form, project):
    protected = sorted(set(form.labels) & set(project.protected_labels or []))
    if protected:
        form.add_error(
            "labels",
            f"{', '.join(protected)} is protected: it moves from the version page "
            "once the version is approved.",
        )


def latest_version(prompt):
    return prompt.versions.select_related("created_by").order_by("-number").first()


def repeated_save(form, cleaned, latest, user):
    """Whether ``latest`` is this very save, already done a moment ago.

    A double click or a resent form posts the same base version twice; the
    first post created ``latest``. Saving again would add an identical
    version, and calling it someone else's change would mislead.
    """
    if latest is None or form.base_version is None:
        return False
    if form.base_version >= latest.number or latest.created_by_id != user.pk:
        return False
    if timezone.now() - latest.created_at > timedelta(seconds=REPEATED_SAVE_SECONDS):
        return False
    content, config = cleaned
    return latest.content == content and (latest.config or {}) == config


def refuse_stale_base(form, latest):
    """Stop a save built on an older version than the newest one.

    Someone else saved in the meantime; the user's input stays on the page
    and the form now builds on the newest version, so saving again is a
    deliberate choice.
    """
    if latest is None or form.base_version in (None, latest.number):
        return
    if not 1 <= form.base_version <= latest.number:
        form.add_error(
            BASE_VERSION,
            f"This form started from version {form.base_version}, which this "
            f"prompt does not have. It now builds on version {latest.number}: "
            "check your text and save again.",
        )
        form.base_version = latest.number
        return
    author = latest.created_by.username if latest.created_by else latest.created_by_name
    form.add_error(
        FORM_ERROR,
        f"{author} saved version {latest.number} while you were editing "
        f"version {form.base_version}. Your changes are kept below: look at "
        f"what changed in version {latest.number}, then save again.",
    )
    form.stale_from = form.base_version
    form.base_version = latest.number


# Pages ------------------------------------------------------------------------


# Fields the page shows an error beside; other errors go in the top banner.
PLACED_ERRORS = {"content", "messages", "config", "labels", "commit_message"}


def loose_errors(form, *, creating):
    """Errors about no field on the page (stale base, a service complaint about
    the name of an existing prompt), so the banner can say them."""
    placed = PLACED_ERRORS | ({"name", "type"} if creating else set())
    return [
        reason
        for key, reason in form.errors.items()
        if key not in placed and not ROW_FIELD.match(key)
    ]


def render_editor(request, *, project, form, prompt=None, status=200):
    """The edit page for ``form``; after a refused POST the samples stay too."""
    samples = posted_samples(request.POST) if request.method == "POST" else {}
    labels_here = {}
    if prompt is not None:
        labels_here = dict(
            prompt.labels.exclude(name=LATEST).values_list("name", "version__number")
        )
    context = {
        "form": form,
        "prompt": prompt,
        "creating": prompt is None,
        "loose_errors": loose_errors(form, creating=prompt is None),
        "offered_labels": [
            (name, labels_here.get(name)) for name in offered_labels(project)
        ],
        "blank_message": MessageRow(),
        "blank_placeholder": MessageRow(kind=PLACEHOLDER, role=""),
        "blank_config_row": ConfigRow(),
        "types": PromptType.choices,
        "section": "prompts",
        **preview_context(form, samples),
    }
    return render(request, "prompts/edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def prompt_edit(request, project_slug, name):
    """GET shows the latest version in the form; POST saves the next version."""
    project = open_project(request, project_slug)
    access = prompt_for_user(request.user, project, name, needs=Role.EDITOR)
    prompt = access.prompt
    latest = latest_version(prompt)
    if request.method != "POST":
        form = PromptForm.from_version(prompt, latest)
        return render_editor(request, project=project, form=form, prompt=prompt)

    form = PromptForm.from_post(request.POST, prompt_type=prompt.type)
    refuse_protected_labels(form, project)
    cleaned = form.cleaned()
    if cleaned is not None and repeated_save(form, cleaned, latest, request.user):
        # The first post's answer never reached the page; give this one its words.
        messages.success(request, f"Saved version {latest.number} of {prompt.name}.")
        return redirect("prompt-version", project.slug, prompt.name, latest.number)
    refuse_stale_base(form, latest)
    version = None
    if cleaned is not None and not form.errors:
        version = save_version(
            form, cleaned, project=project, name=prompt.name, actor=request.user
        )
    if version is None:
        status = 409 if FORM_ERROR in form.errors else 400
        return render_editor(
            request, project=project, form=form, prompt=prompt, status=status
        )
    messages.success(request, f"Saved version {version.number} of {prompt.name}.")
    return redirect("prompt-version", project.slug, prompt.name, version.number)


def open_project_as_editor(request, project_slug):
    """The project for members with the editor role (404 outsiders, 403 below)."""
    project, membership = project_for_user(request.user, project_slug, role=Role.EDITOR)
    request.project = project
    request.membership = membership
    return project


@login_required
@require_http_methods(["GET", "POST"])
def prompt_new(request, project_slug):
    """GET shows an empty form; POST creates the prompt with its version 1."""
    project = open_project_as_editor(request, project_slug)
    if request.method != "POST":
        return render_editor(request, project=project, form=PromptForm.blank())

    form = PromptForm.from_post(request.POST)
    if not form.name:
        form.add_error("name", "Give the prompt a name.")
    elif Prompt.objects.filter(project=project, name=form.name).exists():
        form.add_error(
            "name", "A prompt with this name already exists; edit it instead."
        )
    refuse_protected_labels(form, project)
    cleaned = form.cleaned()
    version = None
    if cleaned is not None:
        version = save_version(
            form, cleaned, project=project, name=form.name, actor=request.user
        )
    if version is None:
        return render_editor(request, project=project, form=form, status=400)
    messages.success(request, f"Created {version.prompt.name}.")
    return redirect("prompt-version", project.slug, version.prompt.name, version.number)


# Live preview -------------------------------------------------------------------


@dataclass
class Segment:
    """Part of a compiled text: ``text``, a substituted ``value``, or a
    ``missing`` variable left as written."""

    text: str
    kind: str = "text"


@dataclass
class SampleInput:
    name: str
    value: str

    @property
    def input_id(self):
        # Stable per variable name, whatever characters the name holds, so
        # htmx keeps the input the user is typing in across swaps.
        digest = hashlib.sha1(self.name.encode()).hexdigest()[:12]
        return f"sample-{digest}"


def compiled_segments(text, values, missing):
    """``text`` with ``values`` substituted, as PromptVersion.compile does.

    Unknown variables stay as written, marked ``missing``, and their names
    are appended to ``missing``.
    """
    segments = []
    position = 0
    for match in VARIABLE_PATTERN.finditer(text):
        name = match.group(1)
        if not name:
            continue
        segments.append(Segment(text[position : match.start()]))
        if name in values:
            segments.append(Segment(values[name], "value"))
        else:
            segments.append(Segment(match.group(0), "missing"))
            if name not in missing:
                missing.append(name)
        position = match.end()
    segments.append(Segment(text[position:]))
    return [segment for segment in segments if segment.text]


def template_variables(texts):
    found = []
    for text in texts:
        for name in VARIABLE_PATTERN.findall(text):
            if name and name not in found:
                found.append(name)
    return found


def posted_samples(data):
    """Sample values typed in the preview; an empty input means no value."""
    return {
        key[len(SAMPLE_PREFIX) :]: value
        for key, value in data.items()
        if key.startswith(SAMPLE_PREFIX) and value != ""
    }


def preview_context(form, values):
    """The preview partial's context: compiled output, samples, what is missing."""
    missing = []
    if form.is_chat:
        texts = [row.content for row in form.messages if not row.is_placeholder]
        rows = [
            {"placeholder": row.name}
            if row.is_placeholder
            else {
                "role": row.role,
                "segments": compiled_segments(row.content, values, missing),
            }
            for row in form.messages
        ]
        text_segments = None
    else:
        texts = [form.content]
        rows = None
        text_segments = compiled_segments(form.content, values, missing)
    return {
        "preview_segments": text_segments,
        "preview_rows": rows,
        "samples": [
            SampleInput(name, values.get(name, ""))
            for name in template_variables(texts)
        ],
        "missing": missing,
    }


@login_required
@require_POST
def prompt_preview(request, project_slug):
    """The compiled prompt for the form as posted; writes nothing.

    Any member may preview (it changes nothing); outsiders get a 404.
    """
    open_project(request, project_slug)
    form = PromptForm.from_post(request.POST)
    if form.type not in PromptType.values:
        form.type = PromptType.TEXT
    context = preview_context(form, posted_samples(request.POST))
    return render(request, "prompts/partials/preview.html", context)
