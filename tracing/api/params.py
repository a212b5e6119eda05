"""Query parameters of the read endpoints, parsed with errors naming the field."""

from rest_framework.exceptions import ValidationError

from tracing.ingestion import EventError, parse_timestamp
from tracing.models import ObservationType

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def _positive_int(query, name, default, maximum=None):
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ValidationError({name: f"{raw!r} is not an integer"}) from error
    if value < 1:
        raise ValidationError({name: "must be 1 or more"})
    if maximum is not None and value > maximum:
        raise ValidationError({name: f"must be at most {maximum}"})
    return value


def pagination(query):
    page = _positive_int(query, "page", 1)
    limit = _positive_int(query, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    return page, limit


def _timestamp(query, name):
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        # A "+" in a query string arrives as a space when the client forgot to
        # encode it; the offset is meant.
        return parse_timestamp(raw.replace(" ", "+"), name)
    except EventError as error:
        raise ValidationError({name: str(error).split(": ", 1)[1]}) from error


def filters(query, *, strings=(), timestamps=(), lists=()):
    parsed = {name: query.get(name) or None for name in strings}
    parsed.update({name: _timestamp(query, name) for name in timestamps})
    parsed.update({name: query.getlist(name) for name in lists})
    if parsed.get("type") and parsed["type"] not in ObservationType.values:
        raise ValidationError(
            {"type": f"must be one of {', '.join(ObservationType.values)}"}
        )
    return parsed


def listed(query, name):
    """Repeated values (``tags=a&tags=b``), or one value split on commas.

    Langfuse reads a single ``tags=a,b`` as two tags; repeated parameters are
    taken whole.
    """
    values = query.getlist(name)
    if len(values) == 1:
        values = values[0].split(",")
    return tuple(value.strip() for value in values if value.strip())


def paginate(queryset, page, limit):
    total = queryset.count()
    start = (page - 1) * limit
    if start >= total:
        # Past the end: nothing to read, and the offset may not fit the database.
        return [], total
    return list(queryset[start : start + limit]), total
