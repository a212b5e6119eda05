"""The audit log of a project and its CSV export; every member may read them."""

import csv
from datetime import UTC, date

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from workbench import audit, selectors
from workbench.views import open_project

CSV_HEADER = ["time_utc", "person", "action", "prompt", "description"]
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _date(query, key, problems):
    text = query.get(key, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"'{text}' is not a date (YYYY-MM-DD); {key} is ignored.")
        return None


def _actor_id(username, problems):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        problems.append(f"Nobody has the user name '{username}'.")
        # No user has id 0, so the log shows nothing rather than everything.
        return 0
    return user.pk


def audit_filters(query):
    """``(AuditFilters, problems)`` from the page's query string."""
    problems = []
    action = query.get("action", "")
    if action and action not in audit.ACTIONS:
        problems.append(f"'{action}' is not an action; it is ignored.")
        action = ""
    filters = audit.AuditFilters(
        actor_id=_actor_id(query.get("person", "").strip(), problems),
        prompt=query.get("prompt", "").strip(),
        action=action,
        date_from=_date(query, "from", problems),
        date_to=_date(query, "to", problems),
    )
    return filters, problems


def _page_number(text):
    try:
        return max(1, int(text))
    except (TypeError, ValueError):
        return 1


def _query_for_page(query, page):
    query = query.copy()
    query.pop("page", None)
    if page > 1:
        query["page"] = str(page)
    return query.urlencode()


@login_required
def audit_log(request, project_slug):
    """The log, newest first, 50 a page.

    Filtering and paging with htmx swap only the results (``hx-select``),
    so the same full page serves both.
    """
    project = open_project(request, project_slug)
    filters, problems = audit_filters(request.GET)
    page = _page_number(request.GET.get("page"))
    entries, has_next = audit.audit_page(project, filters, page)
    if not entries and page > 1:
        # An old link or a typed number past the end: show the last page.
        page = audit.last_page(project, filters)
        entries, has_next = audit.audit_page(project, filters, page)
    context = {
        "section": "audit",
        "entries": entries,
        "page": page,
        "newer_query": _query_for_page(request.GET, page - 1) if page > 1 else None,
        "older_query": _query_for_page(request.GET, page + 1) if has_next else None,
        "export_query": _query_for_page(request.GET, 1),
        "problems": problems,
        "actions": [(action, audit.action_label(action)) for action in audit.ACTIONS],
        "people": selectors.project_memberships(project),
        "query": request.GET,
    }
    return render(request, "workbench/audit.html", context)


class _Line:
    """A write-only file for csv.writer that hands back what it was given."""

    def write(self, text):
        return text


def _cell(value):
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv_lines(entries):
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_HEADER)
    for entry in entries:
        yield writer.writerow(
            [
                entry.at.astimezone(UTC).isoformat(),
                _cell(entry.actor_name),
                entry.action,
                _cell(entry.prompt_name),
                _cell(entry.description),
            ]
        )


@login_required
def audit_csv(request, project_slug):
    """The same filtered rows as the page, all of them, streamed as CSV."""
    project = open_project(request, project_slug)
    filters, _ = audit_filters(request.GET)
    response = StreamingHttpResponse(
        _csv_lines(audit.audit_entries(project, filters)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"audit-{project.slug}-{timezone.now():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
