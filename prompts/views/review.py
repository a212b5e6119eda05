"""Review pages: comments on a version, review requests and decisions, and
label moves and rollbacks from the prompt page.

Every action is a plain POST that redirects (the pages work without
JavaScript); an htmx request gets back the fragment it swaps instead: a
comment thread, the prompt text with its line comments, the general
comments or the review panel. A refusal from a service is shown where the
form was, with the status it carries (400 bad input, 403 not allowed) and
what the user typed.
"""

import functools
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from workbench.models import Role
from workbench.views import open_project, pretty_json

from .. import services
from ..errors import PromptError, PromptInputError, PromptNotFound
from ..models import LATEST, Comment, Decision, Prompt, PromptVersion, ReviewStatus
from ..selectors import project_members_with_role, prompt_for_user
from ..services import comments, reviews
from . import prompt_detail, template_segments, version_context

# Where an htmx refusal from an access check goes: a live region on the page,
# so a stale form is not replaced by a bare error.
FLASH_TARGET = "#review-flash"
PROMPT_BODY = "prompt-body"
GENERAL_SLOT = "form-general"
REVIEW_PANEL = "review-panel"
REQUEST_FORM = "review-request"
# The largest value of a 64-bit database integer (PostgreSQL bigint, SQLite).
LARGEST_NUMBER = 2**63 - 1


def is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def flash(request, message, status):
    """A refusal fragment for the page's flash region (see review.js)."""
    response = render(
        request, "prompts/partials/refusal.html", {"message": message}, status=status
    )
    response["HX-Retarget"] = FLASH_TARGET
    response["HX-Reswap"] = "innerHTML"
    return response


def htmx_refusals(view):
    """Answer an htmx request that fails an access check with a fragment.

    Without it htmx would get Django's error page. Ordinary requests get the
    usual 403 and 404 pages.
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (PermissionDenied, Http404) as error:
            if not is_htmx(request):
                raise
            status = 403 if isinstance(error, PermissionDenied) else 404
            return flash(request, str(error) or "Not allowed.", status)

    return wrapped


# Access ---------------------------------------------------------------------


def version_access(request, project_slug, version_id, *, needs=Role.VIEWER):
    """``(access, version)`` for the version with that id, or fail.

    The version is looked up inside the project, then the user's role on its
    prompt is checked: 404 when they may not see it, 403 below ``needs``.
    """
    project = open_project(request, project_slug)
    version = (
        PromptVersion.objects.select_related("prompt", "created_by")
        .filter(pk=version_id, prompt__project=project)
        .first()
    )
    if version is None:
        raise Http404("No such version.")
    access = prompt_for_user(request.user, project, version.prompt.name, needs=needs)
    version.prompt = access.prompt
    return access, version


def comment_access(request, project_slug, comment_id):
    """``(access, comment)`` for a comment the user may see, or 404."""
    project = open_project(request, project_slug)
    comment = (
        Comment.objects.select_related("version__prompt", "version__created_by")
        .filter(pk=comment_id, version__prompt__project=project)
        .first()
    )
    if comment is None:
        raise Http404("No such comment.")
    access = prompt_for_user(request.user, project, comment.version.prompt.name)
    comment.version.prompt = access.prompt
    return access, comment


def prompt_access(request, project_slug, prompt_id, *, needs):
    """The access to the prompt with that id in the project, or fail."""
    project = open_project(request, project_slug)
    name = (
        Prompt.objects.filter(pk=prompt_id, project=project)
        .values_list("name", flat=True)
        .first()
    )
    if name is None:
        raise Http404("No such prompt.")
    return prompt_for_user(request.user, project, name, needs=needs)


# Threads and lines ----------------------------------------------------------


@dataclass
class Thread:
    """A first comment and every reply under it, oldest first."""

    root: Comment
    replies: list = field(default_factory=list)

    @property
    def dom_id(self):
        return f"thread-{self.root.pk}"

    @property
    def is_open(self):
        return self.root.resolved_at is None and self.root.deleted_at is None

    @property
    def anchor(self):
        return (self.root.message, self.root.line)


def version_threads(version):
    """The comment threads of ``version``, oldest first, in one query.

    A reply to a reply joins the thread of its first comment.
    """
    found = list(
        version.comments.select_related("resolved_by").order_by("created_at", "id")
    )
    by_id = {comment.pk: comment for comment in found}
    threads = {}
    for comment in found:
        comment.dom_id = f"comment-{comment.pk}"
        root = comment
        while root.parent_id is not None and root.parent_id in by_id:
            root = by_id[root.parent_id]
        if root is comment:
            threads[comment.pk] = Thread(root=comment)
        else:
            threads[root.pk].replies.append(comment)
    return list(threads.values())


@dataclass
class Line:
    """One line of the prompt text, with the threads anchored to it."""

    message: int | None
    number: int
    segments: list
    threads: list
    form_open: bool

    @property
    def anchor_id(self):
        prefix = "" if self.message is None else f"m{self.message}-"
        return f"{prefix}L{self.number}"

    @property
    def slot_id(self):
        return anchor_slot(self.message, self.number)

    @property
    def query(self):
        """The query string that opens the comment form on this line."""
        if self.message is None:
            return f"line={self.number}"
        return f"message={self.message}&line={self.number}"

    @property
    def title(self):
        if self.message is None:
            return f"line {self.number}"
        return f"message {self.message + 1}, line {self.number}"


@dataclass
class Run:
    """Lines shown in one block of text; what hangs under its last line
    (threads, an open comment form) follows the block."""

    lines: list

    @property
    def end(self):
        return self.lines[-1]


def line_runs(text, message, threads_by_anchor, open_anchor):
    """Split ``text`` into runs that end at each line with something under it.

    Threads and forms sit between runs, so the text stays in ``<pre>``
    blocks and nothing but text is ever inside one.
    """
    runs, current = [], []
    for number, line_text in enumerate((text or "").split("\n"), start=1):
        line = Line(
            message=message,
            number=number,
            segments=template_segments(line_text),
            threads=threads_by_anchor.get((message, number), []),
            form_open=open_anchor == (message, number),
        )
        current.append(line)
        if line.threads or line.form_open:
            runs.append(Run(current))
            current = []
    if current:
        runs.append(Run(current))
    return runs


@dataclass
class ChatMessage:
    """One chat item: a role with its lines, a placeholder, or raw content."""

    index: int
    role: str = ""
    runs: list | None = None
    placeholder: str | None = None
    raw: str | None = None


def chat_messages(content, threads_by_anchor, open_anchor):
    rows = []
    for index, message in enumerate(content or []):
        if not isinstance(message, dict):
            rows.append(ChatMessage(index, raw=pretty_json(message)))
        elif message.get("type") == "placeholder":
            rows.append(ChatMessage(index, placeholder=message.get("name", "")))
        elif isinstance(message.get("content"), str):
            runs = line_runs(message["content"], index, threads_by_anchor, open_anchor)
            rows.append(ChatMessage(index, role=message.get("role", ""), runs=runs))
        else:
            raw = pretty_json(message.get("content"))
            rows.append(ChatMessage(index, role=message.get("role", ""), raw=raw))
    return rows


# Page state -----------------------------------------------------------------


@dataclass
class FormState:
    """Which form on the version page is open, what was typed into it and
    why it was refused.

    ``at`` is the DOM id of the place: a line's form slot, ``form-general``,
    a thread, ``comment-<pk>`` (its edit form) or the review panel.
    """

    at: str = ""
    error: str = ""
    draft: str = ""
    anchor: tuple | None = None


def whole_number(raw, field_name):
    """``raw`` as an int, None when blank; PromptInputError otherwise.

    Numbers beyond what a database column holds are refused too: they name
    no comment, line, version or user, and some drivers raise OverflowError
    on them instead of matching nothing.
    """
    if raw is None or str(raw).strip() == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        raise PromptInputError(
            field_name, f"must be a whole number (got {raw!r})"
        ) from None
    if abs(number) > LARGEST_NUMBER:
        raise PromptInputError(field_name, f"is out of range (got {raw!r})")
    return number


def anchor_from(data):
    """The ``(message, line)`` a form or query names; may raise PromptInputError."""
    return whole_number(data.get("message"), "message"), whole_number(
        data.get("line"), "line"
    )


def state_from_query(version, query, can_comment):
    """The state a plain link asks for: ``?line=3`` opens that line's form.

    A link that names no valid line opens nothing.
    """
    if not can_comment:
        return FormState()
    try:
        message, line = anchor_from(query)
        message, line = comments.clean_anchor(version, message, line)
    except PromptInputError:
        return FormState()
    if line is None:
        return FormState()
    return FormState(anchor=(message, line))


def anchor_slot(message, line):
    if line is None:
        return GENERAL_SLOT
    prefix = "" if message is None else f"m{message}-"
    return f"form-{prefix}L{line}"


# Context --------------------------------------------------------------------


def review_summary(version, request, user):
    """The open request and what it adds up to, for the panel.

    ``approved_by_me``: ``user``'s standing decision under the request is an
    approval, so the panel says so instead of offering Approve again.
    """
    if request is None:
        return {
            "open_request": None,
            "decisions": [],
            "approvers": [],
            "approved_by_me": False,
        }
    counted, latest = reviews.counted_approvals(version, request)
    mine = latest.get(user.pk)
    counted_ids = {user.pk for user in counted}
    decisions = list(request.reviews.all())
    for review in decisions:
        review.counts = (
            review.decision == Decision.APPROVE and review.reviewer_id in counted_ids
        )
    return {
        "open_request": request,
        "named_reviewers": list(request.reviewers.order_by("username")),
        "decisions": decisions,
        "approvers": counted,
        "changes_by": [
            review.reviewer_name
            for review in latest.values()
            if review.decision == Decision.REQUEST_CHANGES
        ],
        "approved_by_me": mine is not None and mine.decision == Decision.APPROVE,
    }


def review_context(request, access, version, state):
    """Everything the review parts of the version page and fragments need."""
    user = request.user
    prompt = version.prompt
    project = prompt.project
    can_comment = access.can(Role.REVIEWER)
    threads = version_threads(version)
    by_anchor = {}
    for thread in threads:
        if thread.root.line is not None:
            by_anchor.setdefault(thread.anchor, []).append(thread)
    open_anchor = state.anchor if can_comment else None
    is_text = isinstance(version.content, str)
    own_version = version.created_by_id == user.pk
    open_request = reviews.open_request(version)
    can_request = own_version or access.can(Role.EDITOR)
    return {
        "access": access,
        "state": state,
        "can_comment": can_comment,
        "can_review": access.can(Role.REVIEWER),
        "can_approve": access.can(Role.APPROVER),
        "can_request": can_request,
        "four_eyes": own_version and not project.author_approval_counts,
        "required_approvals": max(project.required_approvals, 1),
        "earlier_requests": version.review_requests.filter(
            closed_at__isnull=False
        ).count(),
        # One role lookup per member: only for those who may ask for review.
        "candidates": [
            member
            for member in project_members_with_role(prompt, Role.REVIEWER)
            if member.pk != user.pk
        ]
        if can_request
        else [],
        **review_summary(version, open_request, user),
        "threads": threads,
        "general_threads": [t for t in threads if t.root.line is None],
        "line_threads": [t for t in threads if t.root.line is not None],
        "open_threads": sum(1 for thread in threads if thread.is_open),
        "text_runs": (
            line_runs(version.content, None, by_anchor, open_anchor)
            if is_text
            else None
        ),
        "chat_messages": (
            None if is_text else chat_messages(version.content, by_anchor, open_anchor)
        ),
        "general_slot": GENERAL_SLOT,
    }


def version_page(request, project, version, *, state=None, status=200):
    """The version page for a user who may see it (404/403 otherwise)."""
    access = prompt_for_user(request.user, project, version.prompt.name)
    version.prompt = access.prompt
    if state is None:
        state = state_from_query(
            version, request.GET, can_comment=access.can(Role.REVIEWER)
        )
    context = {
        **version_context(project, version),
        **review_context(request, access, version, state),
    }
    return render(request, "prompts/prompt_version.html", context, status=status)


def version_url(version, anchor=""):
    url = reverse(
        "prompt-version",
        args=[version.prompt.project.slug, version.prompt.name, version.number],
    )
    return f"{url}#{anchor}" if anchor else url


# Responses ------------------------------------------------------------------

# What an htmx request swaps, by the place its form sits in.
FRAGMENTS = {
    PROMPT_BODY: "prompts/partials/prompt_body.html",
    GENERAL_SLOT: "prompts/partials/general_comments.html",
    REVIEW_PANEL: "prompts/partials/review_panel.html",
}


def fragment(request, access, version, place, *, state=None, status=200):
    """The fragment for ``place``: a fixed part of the page or a thread id."""
    state = state or FormState()
    context = review_context(request, access, version, state)
    context["version"] = version
    if place in FRAGMENTS:
        # The panel also updates the status badge in the page header.
        context["oob"] = place == REVIEW_PANEL
        response = render(request, FRAGMENTS[place], context, status=status)
    else:
        thread = next(t for t in context["threads"] if t.dom_id == place)
        context["thread"] = thread
        response = render(
            request, "prompts/partials/comment_thread.html", context, status=status
        )
    if status >= 400:
        # review.js swaps an error response only when it says how.
        response["HX-Reswap"] = "outerHTML"
    else:
        # A comment added, resolved or deleted changes the header's count.
        response.content += render_to_string(
            "prompts/partials/open_comment_count.html",
            {"open_threads": context["open_threads"], "oob": True},
        ).encode()
    return response


def refused(request, access, version, place, error, state):
    """Show ``error`` where the form was: in the fragment, or on the page."""
    status = error.status if error.status in (400, 403) else 400
    state.error = error.message
    if is_htmx(request):
        return fragment(request, access, version, place, state=state, status=status)
    messages.error(request, error.message)
    return version_page(request, access.project, version, state=state, status=status)


def done(request, access, version, place, anchor):
    """After a change: the fresh fragment for htmx, a redirect otherwise."""
    if is_htmx(request):
        return fragment(request, access, version, place)
    return redirect(version_url(version, anchor))


def thread_place(version, comment):
    """The DOM id of the thread ``comment`` belongs to."""
    for thread in version_threads(version):
        if thread.root.pk == comment.pk or comment in thread.replies:
            return thread.dom_id
    raise Http404("No such comment.")


# Comments -------------------------------------------------------------------


@login_required
@require_GET
@htmx_refusals
def comment_form(request, project_slug, version_id):
    """Open the comment form under one line (``?line=``, ``&message=``).

    htmx gets the prompt text back with the form in place; a plain request
    is sent to the version page, which opens the same form.
    """
    access, version = version_access(
        request, project_slug, version_id, needs=Role.REVIEWER
    )
    try:
        message, line = comments.clean_anchor(version, *anchor_from(request.GET))
    except PromptInputError as error:
        state = FormState(at=PROMPT_BODY)
        return refused(request, access, version, PROMPT_BODY, error, state)
    state = FormState(anchor=(message, line)) if line is not None else FormState()
    if is_htmx(request):
        return fragment(request, access, version, PROMPT_BODY, state=state)
    if line is None:
        return redirect(version_url(version))
    query = "" if message is None else f"message={message}&"
    return redirect(
        f"{version_url(version)}?{query}line={line}#{anchor_slot(message, line)}"
    )


def parent_comment(version, raw):
    parent_id = whole_number(raw, "parent")
    if parent_id is None:
        return None
    parent = version.comments.filter(pk=parent_id).first()
    if parent is None:
        raise PromptInputError("parent", f"no comment {parent_id} on this version")
    return parent


@login_required
@require_POST
@htmx_refusals
def comment_add(request, project_slug, version_id):
    """Add a general comment, a comment on a line, or a reply (``parent``)."""
    access, version = version_access(
        request, project_slug, version_id, needs=Role.REVIEWER
    )
    body = request.POST.get("body", "")
    place, state = GENERAL_SLOT, FormState(at=GENERAL_SLOT, draft=body)
    try:
        parent = parent_comment(version, request.POST.get("parent"))
        message, line = (None, None) if parent else anchor_from(request.POST)
        if parent is not None:
            place = thread_place(version, parent)
            state = FormState(at=place, draft=body)
        elif line is not None or message is not None:
            place = PROMPT_BODY
            state = FormState(
                at=anchor_slot(message, line), draft=body, anchor=(message, line)
            )
        comment = comments.comment_add(
            version=version,
            actor=request.user,
            body=body,
            parent=parent,
            message=message,
            line=line,
        )
    except PromptError as error:
        if getattr(error, "field", "") in ("message", "line"):
            # No such line to hold the form: the error goes above the text.
            place, state = PROMPT_BODY, FormState(at=PROMPT_BODY, draft=body)
        return refused(request, access, version, place, error, state)
    # For a line comment the fresh text shows the new thread, form closed.
    return done(request, access, version, place, f"comment-{comment.pk}")


def comment_action(request, project_slug, comment_id, act):
    """Run ``act(comment)`` for a comment action; errors shown on its thread."""
    access, comment = comment_access(request, project_slug, comment_id)
    version = comment.version
    place = thread_place(version, comment)
    try:
        act(comment)
    except PromptError as error:
        state = FormState(at=place)
        return refused(request, access, version, place, error, state)
    return done(request, access, version, place, f"comment-{comment.pk}")


@login_required
@require_POST
@htmx_refusals
def comment_edit(request, project_slug, comment_id):
    """Change the text of one's own comment."""
    body = request.POST.get("body", "")
    access, comment = comment_access(request, project_slug, comment_id)
    version = comment.version
    place = thread_place(version, comment)
    try:
        comments.comment_edit(comment=comment, actor=request.user, body=body)
    except PromptError as error:
        # Bad text goes in the author's edit form, which keeps what they
        # typed; anything else above the thread.
        state = FormState(at=place)
        if getattr(error, "field", "") == "body":
            state = FormState(at=f"comment-{comment.pk}", draft=body)
        return refused(request, access, version, place, error, state)
    return done(request, access, version, place, f"comment-{comment.pk}")


@login_required
@require_POST
@htmx_refusals
def comment_delete(request, project_slug, comment_id):
    """Delete one's own comment; its replies stay."""
    return comment_action(
        request,
        project_slug,
        comment_id,
        lambda comment: comments.comment_delete(comment=comment, actor=request.user),
    )


@login_required
@require_POST
@htmx_refusals
def comment_resolve(request, project_slug, comment_id):
    """Resolve a thread (``resolved=1``) or open it again (``resolved=0``)."""
    resolved = request.POST.get("resolved", "1") != "0"
    return comment_action(
        request,
        project_slug,
        comment_id,
        lambda comment: comments.comment_resolve(
            comment=comment, actor=request.user, resolved=resolved
        ),
    )


# Reviews --------------------------------------------------------------------

DECISION_VERBS = {
    Decision.APPROVE: "approved",
    Decision.REQUEST_CHANGES: "requested changes to",
}


def chosen_reviewers(project, raw_ids):
    """The project members ticked as reviewers; unknown ids are refused."""
    ids = []
    for raw in raw_ids:
        user_id = whole_number(raw, "reviewers")
        if user_id is not None and user_id not in ids:
            ids.append(user_id)
    users = {
        user.pk: user
        for user in get_user_model().objects.filter(
            pk__in=ids, memberships__project=project
        )
    }
    missing = [user_id for user_id in ids if user_id not in users]
    if missing:
        raise PromptInputError(
            "reviewers", f"user {missing[0]} is not a member of this project"
        )
    return [users[user_id] for user_id in ids]


@login_required
@require_POST
@htmx_refusals
def review_request(request, project_slug, version_id):
    """Ask the ticked reviewers (or everyone who may review) to review."""
    access, version = version_access(request, project_slug, version_id)
    message = request.POST.get("message", "")
    try:
        reviewers = chosen_reviewers(access.project, request.POST.getlist("reviewers"))
        reviews.review_request(
            version=version, actor=request.user, reviewers=reviewers, message=message
        )
    except PromptError as error:
        state = FormState(at=REQUEST_FORM, draft=message)
        return refused(request, access, version, REVIEW_PANEL, error, state)
    version.refresh_from_db(fields=["review_status"])
    if not is_htmx(request):
        messages.success(request, f"Review of version {version.number} requested.")
    return done(request, access, version, REVIEW_PANEL, REVIEW_PANEL)


@login_required
@require_POST
@htmx_refusals
def review_decide(request, project_slug, version_id):
    """Approve, or request changes with a comment saying what."""
    access, version = version_access(
        request, project_slug, version_id, needs=Role.REVIEWER
    )
    decision = request.POST.get("decision", "")
    body = request.POST.get("body", "")
    try:
        reviews.review_decide(
            version=version, actor=request.user, decision=decision, body=body
        )
    except PromptError as error:
        state = FormState(at=REVIEW_PANEL, draft=body)
        return refused(request, access, version, REVIEW_PANEL, error, state)
    version.refresh_from_db(fields=["review_status"])
    if not is_htmx(request):
        messages.success(
            request,
            f"You {DECISION_VERBS[decision]} version {version.number}; it is now "
            f"{version.get_review_status_display().lower()}.",
        )
    return done(request, access, version, REVIEW_PANEL, REVIEW_PANEL)


# Labels ---------------------------------------------------------------------


@dataclass
class LabelRow:
    """A label on the prompt page, with whether it is protected."""

    name: str
    version_number: int
    updated_at: object
    protected: bool


def label_controls(access, versions, labels, label_moves):
    """What the prompt page needs to move and roll back labels.

    Marks each label as protected or not, and the newest move of each label
    (within ``label_moves``) with ``rollback``: allowed, refused with the
    reason, or None when there is nothing to roll back to.
    """
    protected = set(access.project.protected_labels or [])
    statuses = {version.number: version.review_status for version in versions}
    for label in labels:
        label.protected = label.name in protected
    seen = set()
    for move in label_moves:
        move.rollback = None
        if move.label in seen or move.label == LATEST:
            continue
        seen.add(move.label)
        if move.from_version is None or not access.can(Role.EDITOR):
            continue
        move.rollback = rollback_refusal(access, move, protected, statuses) or "ok"
    names = {label.name for label in labels if label.name != LATEST} | protected
    return {
        "can_move_labels": access.can(Role.EDITOR),
        "can_approve": access.can(Role.APPROVER),
        "protected_labels": sorted(protected),
        "label_names": sorted(names),
    }


def rollback_refusal(access, move, protected, statuses):
    """Why rolling ``move`` back would be refused, or "" when it may."""
    target = statuses.get(move.from_version)
    if target is None:
        return f"Version {move.from_version} no longer exists."
    if move.label not in protected:
        return ""
    if not access.can(Role.APPROVER):
        return f"'{move.label}' is protected: only an approver may move it."
    if target != ReviewStatus.APPROVED:
        return (
            f"'{move.label}' is protected and version {move.from_version} "
            "is not approved."
        )
    return ""


def detail_url(prompt, anchor=""):
    url = reverse("prompt-detail", args=[prompt.project.slug, prompt.name])
    return f"{url}#{anchor}" if anchor else url


def label_refused(request, access, error):
    """Show a refused label move: on the prompt page, or as a fragment."""
    status = error.status if error.status in (400, 403) else 400
    if is_htmx(request):
        return flash(request, error.message, status)
    messages.error(request, error.message)
    response = prompt_detail(request, access.project.slug, access.prompt.name)
    response.status_code = status
    return response


def label_moved(request, access, move):
    messages.success(
        request,
        f"Label '{move.label}' moved from "
        f"{f'version {move.from_version}' if move.from_version else 'nowhere'} "
        f"to version {move.to_version}.",
    )
    url = detail_url(access.prompt, "labels")
    if is_htmx(request):
        return HttpResponse(headers={"HX-Redirect": url})
    return redirect(url)


def label_service_call(request, access, call):
    """Run a label service; an unknown version is bad input here, not a 404."""
    try:
        move = call()
    except PromptNotFound:
        error = PromptInputError(
            "version", f"that version of {access.prompt.name} no longer exists"
        )
        return label_refused(request, access, error)
    except PromptError as error:
        return label_refused(request, access, error)
    return label_moved(request, access, move)


@login_required
@require_POST
@htmx_refusals
def label_move(request, project_slug, prompt_id):
    """Point a label at a version (``label``, ``version``)."""
    access = prompt_access(request, project_slug, prompt_id, needs=Role.EDITOR)
    label = request.POST.get("label", "").strip()

    def move():
        number = whole_number(request.POST.get("version"), "version")
        if number is None:
            raise PromptInputError("version", "choose the version to move it to")
        if not access.prompt.versions.filter(number=number).exists():
            raise PromptInputError(
                "version", f"{access.prompt.name} has no version {number}"
            )
        return services.label_move(
            prompt=access.prompt, label=label, version_number=number, actor=request.user
        )

    return label_service_call(request, access, move)


@login_required
@require_POST
@htmx_refusals
def label_rollback(request, project_slug, prompt_id):
    """Move ``label`` back to where it was before its last move."""
    access = prompt_access(request, project_slug, prompt_id, needs=Role.EDITOR)
    label = request.POST.get("label", "").strip()
    return label_service_call(
        request,
        access,
        lambda: services.label_rollback(
            prompt=access.prompt, label=label, actor=request.user
        ),
    )
