"""Pages about sessions and end users: who talked to the LLM, what it cost."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from workbench.views import open_project

from . import conversations, end_users, explore

SESSION_PAGE_SIZE = 50
CHART_WIDTH = 720
CHART_HEIGHT = 160


def _next_query(request, cursor):
    if cursor is None:
        return None
    query = request.GET.copy()
    query["before"] = cursor
    return query.urlencode()


@login_required
def session_list(request, project_slug):
    project = open_project(request, project_slug)
    reader = explore.QueryReader(request.GET)
    before = reader.value("before", explore.parse_cursor)
    user = reader.text("user")
    sessions, cursor = conversations.session_page(
        project, before=before, user=user, size=SESSION_PAGE_SIZE
    )
    first_query = request.GET.copy()
    first_query.pop("before", None)
    context = {
        "sessions": sessions,
        "user_filter": user,
        "problems": reader.problems,
        "next_query": _next_query(request, cursor),
        "first_query": first_query.urlencode() if before else None,
        "section": "sessions",
    }
    return render(request, "tracing/session_list.html", context)


@login_required
def session_detail(request, project_slug, session_id):
    project = open_project(request, project_slug)
    talk = conversations.conversation(project, session_id)
    if talk is None:
        raise Http404("No trace of this project is in that session.")
    context = {"conversation": talk, "section": "sessions"}
    return render(request, "tracing/session_detail.html", context)


@login_required
def user_list(request, project_slug):
    project = open_project(request, project_slug)
    reader = explore.QueryReader(request.GET)
    first_day, last_day = end_users.read_period(reader)
    users, more = end_users.user_totals(project, first_day, last_day)
    context = {
        "users": users,
        "more": more,
        "first_day": first_day,
        "last_day": last_day,
        "problems": reader.problems,
        "section": "users",
    }
    return render(request, "tracing/user_list.html", context)


@login_required
def user_detail(request, project_slug, user_id):
    project = open_project(request, project_slug)
    reader = explore.QueryReader(request.GET)
    first_day, last_day = end_users.read_period(reader)
    days = end_users.user_daily(project, user_id, first_day, last_day)
    traces = end_users.recent_traces(project, user_id)
    sessions, _ = conversations.session_page(project, user=user_id, size=20)
    if not traces and not any(day.calls for day in days):
        raise Http404("This project has no calls or traces of that user.")
    context = {
        "end_user": user_id,
        "days": days,
        "chart": daily_chart(days),
        "total_cost": sum((day.cost for day in days), Decimal(0)),
        "total_calls": sum(day.calls for day in days),
        "total_tokens": sum(day.tokens for day in days),
        "first_day": first_day,
        "last_day": last_day,
        "traces": traces,
        "sessions": sessions,
        "problems": reader.problems,
        "section": "users",
    }
    return render(request, "tracing/user_detail.html", context)


def daily_chart(days, *, width=CHART_WIDTH, height=CHART_HEIGHT):
    """Bar geometry for an inline SVG of daily cost, one bar per day.

    Bars are scaled to the costliest day; a day without cost gets no bar.
    Each bar carries its day, cost and calls for the hover title.
    """
    top = max((day.cost for day in days), default=Decimal(0))
    slot = width / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        share = float(day.cost / top) if top else 0.0
        bar_height = round(share * (height - 20), 1)
        bars.append(
            {
                "x": round(index * slot + 1, 1),
                "y": round(height - bar_height, 1),
                "width": round(max(slot - 2, 1), 1),
                "height": bar_height,
                "day": day,
            }
        )
    return {"width": width, "height": height, "bars": bars, "top": top}
