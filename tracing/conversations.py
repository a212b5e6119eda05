"""Sessions: conversations of traces sharing a ``session_id``, turn by turn,
with the per-trace figures (cost, tokens, latency) they and the user pages show.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    Max,
    Min,
    Q,
    Sum,
)

from workbench.views import pretty_json

from . import reports
from .explore import format_cursor
from .models import Observation, Trace

# Per-trace figures for sessions and users


@dataclass
class TraceFigures:
    cost: Decimal | None = None
    tokens: int = 0
    unpriced: bool = False
    models: list = field(default_factory=list)
    first_start: datetime | None = None
    last_end: datetime | None = None
    calls: int = 0

    @property
    def latency_seconds(self):
        if self.first_start is None or self.last_end is None:
            return None
        return (self.last_end - self.first_start).total_seconds()


def trace_figures(project, trace_ids):
    """``{trace_id: TraceFigures}`` in one query over the traces' observations."""
    tokens = reports.usage_tokens(reports.INPUT_USAGE_KEYS) + reports.usage_tokens(
        reports.OUTPUT_USAGE_KEYS
    )
    rows = (
        Observation.objects.filter(project=project, trace_id__in=list(trace_ids))
        .order_by()
        .values("trace_id", "model")
        .annotate(
            cost=Sum("total_cost"),
            tokens=Sum(tokens),
            unpriced=Count("id", filter=reports.UNPRICED),
            first_start=Min("start_time"),
            last_end=Max("end_time"),
            calls=Count("id", filter=Q(type__in=reports.LLM_CALL_TYPES)),
        )
    )
    figures = {trace_id: TraceFigures() for trace_id in trace_ids}
    for row in rows:
        figure = figures[row["trace_id"]]
        if row["cost"] is not None:
            figure.cost = (figure.cost or Decimal(0)) + row["cost"]
        figure.tokens += int(row["tokens"] or 0)
        figure.unpriced = figure.unpriced or bool(row["unpriced"])
        figure.calls += row["calls"]
        if row["model"]:
            figure.models.append(row["model"])
        figure.first_start = _earliest(figure.first_start, row["first_start"])
        figure.last_end = _latest(figure.last_end, row["last_end"])
    for figure in figures.values():
        figure.models.sort()
    return figures


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


def _latest(a, b):
    return b if a is None else a if b is None else max(a, b)


def _add_cost(total, cost):
    if cost is None:
        return total
    return (total or Decimal(0)) + cost


# Sessions


@dataclass
class SessionRow:
    session_id: str
    turns: int
    first_at: datetime
    last_at: datetime
    users: list
    cost: Decimal | None = None
    tokens: int = 0
    unpriced: bool = False


SESSION_WALK_CHUNK = 500


def session_page(project, *, before=None, user="", size=50):
    """``(sessions, next cursor or None)``, latest activity first.

    ``before`` is ``(last activity, session id)`` of the previous page's last
    row. Rather than grouping every session of the project, the newest
    traces are walked from the cursor down until the page is full: a
    session's first trace met on that walk is its latest one, so sessions
    come up in page order.
    """
    traces = Trace.objects.filter(project=project, session_id__gt="")
    if user:
        traces = traces.filter(user_id=user)
    found = {}
    walk = traces.order_by("-timestamp", "-pk").values_list(
        "pk", "timestamp", "session_id"
    )
    if before:
        walk = walk.filter(timestamp__lte=before[0])
    while True:
        chunk = list(walk[:SESSION_WALK_CHUNK])
        new = {session_id for _, _, session_id in chunk} - set(found)
        found.update(_session_stats(traces, new, before))
        ranked = sorted(
            (row for row in found.values() if row is not None),
            key=lambda row: (row.last_at, row.session_id),
            reverse=True,
        )
        if len(chunk) < SESSION_WALK_CHUNK:
            break
        # Sessions met later have no later activity than this chunk's end;
        # past a tie with the page's boundary row, the page is complete.
        if len(ranked) > size and chunk[-1][1] < ranked[size].last_at:
            break
        last_pk, last_time, _ = chunk[-1]
        walk = walk.filter(timestamp__lte=last_time).filter(
            Q(timestamp__lt=last_time) | Q(pk__lt=last_pk)
        )
    page = ranked[:size]
    _add_session_totals(project, page, traces)
    cursor = None
    if len(ranked) > size:
        cursor = format_cursor(page[-1].last_at, page[-1].session_id)
    return page, cursor


def _session_stats(traces, session_ids, before):
    """``{session id: SessionRow or None}``; None for sessions before the cursor."""
    rows = (
        traces.filter(session_id__in=session_ids)
        .order_by()
        .values("session_id")
        .annotate(
            turns=Count("id"), first_at=Min("timestamp"), last_at=Max("timestamp")
        )
    )
    stats = {}
    for row in rows:
        session = SessionRow(
            session_id=row["session_id"],
            turns=row["turns"],
            first_at=row["first_at"],
            last_at=row["last_at"],
            users=[],
        )
        if before and (session.last_at, session.session_id) >= before:
            session = None  # already listed on an earlier page
        stats[row["session_id"]] = session
    return stats


def _add_session_totals(project, sessions, traces):
    by_id = {session.session_id: session for session in sessions}
    members = list(
        traces.filter(session_id__in=list(by_id)).values_list(
            "trace_id", "session_id", "user_id"
        )
    )
    figures = trace_figures(project, [trace_id for trace_id, _, _ in members])
    for trace_id, session_id, user_id in members:
        session = by_id[session_id]
        figure = figures[trace_id]
        session.cost = _add_cost(session.cost, figure.cost)
        session.tokens += figure.tokens
        session.unpriced = session.unpriced or figure.unpriced
        if user_id and user_id not in session.users:
            session.users.append(user_id)
    for session in sessions:
        session.users.sort()


@dataclass
class Turn:
    trace: Trace
    figures: TraceFigures
    input: dict
    output: dict


@dataclass
class Conversation:
    session_id: str
    turns: list
    cost: Decimal | None
    tokens: int
    unpriced: bool
    truncated: bool

    @property
    def users(self):
        return sorted({turn.trace.user_id for turn in self.turns if turn.trace.user_id})


def conversation(project, session_id, *, limit=500):
    """The session's traces oldest first with readable input and output.

    None when the project has no trace in the session. At most ``limit``
    turns are read; ``truncated`` says whether more exist.
    """
    traces = list(
        Trace.objects.filter(project=project, session_id=session_id).order_by(
            "timestamp", "pk"
        )[: limit + 1]
    )
    if not traces:
        return None
    truncated = len(traces) > limit
    traces = traces[:limit]
    figures = trace_figures(project, [trace.trace_id for trace in traces])
    turns = [
        Turn(
            trace=trace,
            figures=figures[trace.trace_id],
            input=readable(trace.input),
            output=readable(trace.output),
        )
        for trace in traces
    ]
    cost = None
    for turn in turns:
        cost = _add_cost(cost, turn.figures.cost)
    return Conversation(
        session_id=session_id,
        turns=turns,
        cost=cost,
        tokens=sum(turn.figures.tokens for turn in turns),
        unpriced=any(turn.figures.unpriced for turn in turns),
        truncated=truncated,
    )


def _message_text(content):
    """A chat message's content as text: strings as they are, text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type"):
                parts.append(f"[{part['type']}]")
        return "\n".join(parts)
    if content is None:
        return ""
    return pretty_json(content)


def _is_message(item):
    return isinstance(item, dict) and isinstance(item.get("role"), str)


def readable(value):
    """How to show a trace's input or output to a person.

    ``{"messages": [{"role", "text"}]}`` for chat messages (a list of them,
    or an object holding one under ``messages``, or one message), ``{"text"}``
    for plain text and ``{"json"}`` for anything else. Templates escape it.
    """
    messages = None
    if isinstance(value, list) and value and all(_is_message(m) for m in value):
        messages = value
    elif isinstance(value, dict) and isinstance(value.get("messages"), list):
        if all(_is_message(m) for m in value["messages"]):
            messages = value["messages"]
    elif _is_message(value) and "content" in value:
        messages = [value]
    if messages is not None:
        return {
            "messages": [
                {"role": m["role"], "text": _message_text(m.get("content"))}
                for m in messages
            ]
        }
    if isinstance(value, str):
        return {"text": value}
    if value is None:
        return {}
    shown = pretty_json(value)
    return {"json": shown} if shown else {}
