"""The model prices pages: the project's prices, adding, editing and deleting one.

Members read prices; admins change them. Every change queues a re-pricing
job, whose progress the list page shows. Forms re-render with the reason
beside the field and status 400; nothing is saved then.
"""

import re
import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from workbench.models import Role, role_at_least
from workbench.views import open_project

from . import cost, selectors, services
from .explore import parse_moment
from .model_prices import (
    FORM_KEYS,
    UNITS,
    ModelPriceInputError,
    pattern_check,
    price_lines,
    prices_check,
    stored_prices,
    unit_scale,
)
from .models import BackgroundJob, JobKind, JobStatus, ModelPrice

PAGE_FIELDS = ("model_name", "match_pattern", "start_date", "unit")


# Reading --------------------------------------------------------------------


def price_groups(model_prices, now):
    """``[{"model", "rows"}]``: each model's prices by pattern, newest start first.

    ``model_prices`` come newest start first. Each row says whether it is in
    force now, scheduled (starts later) or superseded. That is decided among
    the prices with the same match pattern: a price only replaces another
    for the model names both match, so two prices of one name with
    different patterns (``^d8$`` and ``^d3$``) are each in force.
    """
    groups = {}
    for model_price in model_prices:
        groups.setdefault(model_price.model_name, []).append(model_price)
    result = []
    for model, prices in sorted(groups.items()):
        current = {}
        rows = []
        # A stable sort: each pattern's prices stay newest first.
        for model_price in sorted(prices, key=lambda price: price.match_pattern):
            start = model_price.start_date
            pattern = model_price.match_pattern
            if start is not None and start > now:
                state = "scheduled"
            elif pattern not in current:
                current[pattern] = model_price
                state = "in force"
            else:
                state = "superseded"
            rows.append(
                {
                    "price": model_price,
                    "state": state,
                    "lines": price_lines(_as_used(model_price)),
                }
            )
        result.append({"model": model, "rows": rows})
    return result


def _newest_first(model_price):
    # A price without start date is the oldest of its model.
    start = model_price.start_date
    return (start is None, -start.timestamp() if start else 0)


def _as_used(model_price):
    """A ModelPrice in the shape of an observation's ``price_used``."""
    return {
        "source": "project",
        "unit": model_price.unit,
        "prices": model_price.prices or {},
    }


def _shown_job(project, job_id):
    """The re-pricing job to show: the one asked for, else the last unfinished."""
    jobs = BackgroundJob.objects.filter(project=project, kind=JobKind.REPRICE)
    if job_id:
        try:
            return jobs.filter(pk=uuid.UUID(job_id)).first()
        except ValueError:
            return None
    latest = jobs.first()
    if latest is not None and latest.status != JobStatus.DONE:
        return latest
    return None


def _lookup(project, model):
    """What prices ``model`` now: the project's price and the public table's."""
    if not model:
        return None
    now = timezone.now()
    public = cost.public_price(model, now)
    return {
        "model": model,
        "project_price": cost.project_price_for(project.id, model, now),
        "public": public,
        "public_lines": price_lines(public),
    }


def _is_admin(request):
    membership = request.membership
    return request.user.is_superuser or (
        membership is not None and role_at_least(membership.role, Role.ADMIN)
    )


@login_required
def price_list(request, project_slug):
    project = open_project(request, project_slug)
    model_prices = sorted(
        selectors.model_price_list(project_id=project.id), key=_newest_first
    )
    context = {
        "groups": price_groups(model_prices, timezone.now()),
        "job": _shown_job(project, request.GET.get("job", "")),
        # The input field holds at most 255 characters, as model names do.
        "lookup": _lookup(project, request.GET.get("lookup", "").strip()[:255]),
        "can_edit": _is_admin(request),
        "section": "reports",
    }
    return render(request, "tracing/prices/list.html", context)


# Changing -------------------------------------------------------------------


def _scaled_price(text, scale):
    """A typed price per ``scale`` units as USD per unit (None when left empty)."""
    text = text.strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(text) from error
    return amount / scale if amount.is_finite() else amount


def parse_price_form(post):
    """``(values, errors)`` from the form: values ready for the services."""
    form = {name: post.get(name, "").strip() for name in PAGE_FIELDS}
    errors = {}
    values = {"model_name": form["model_name"][:255]}
    if not form["model_name"]:
        errors["model_name"] = "is required"
    elif len(form["model_name"]) > 255:
        errors["model_name"] = "is longer than 255 characters"
    try:
        values["match_pattern"] = pattern_check(form["match_pattern"])
    except ModelPriceInputError as error:
        errors["match_pattern"] = error.reason
    values["start_date"] = None
    if form["start_date"]:
        try:
            values["start_date"] = parse_moment(form["start_date"])
        except ValueError:
            errors["start_date"] = "is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
    unit = form["unit"] or "TOKENS"
    if unit not in UNITS:
        errors["unit"] = f"must be one of {', '.join(UNITS)}"
        unit = "TOKENS"
    values["unit"] = unit
    typed = {}
    for key in FORM_KEYS:
        try:
            amount = _scaled_price(post.get(f"price_{key}", ""), unit_scale(unit))
        except ValueError:
            errors[f"prices.{key}"] = "is not a number"
            continue
        if amount is not None:
            typed[key] = amount
    if not any(key.startswith("prices.") for key in errors):
        try:
            values["prices"] = stored_prices(prices_check(typed))
        except ModelPriceInputError as error:
            errors[error.field] = error.reason
    return values, errors


def _price_form_data(model_price):
    scale = unit_scale(model_price.unit)
    prices = {
        key: f"{(Decimal(str(value)) * scale).normalize():f}"
        for key, value in (model_price.prices or {}).items()
    }
    start = model_price.start_date
    return {
        "model_name": model_price.model_name,
        "match_pattern": model_price.match_pattern,
        "start_date": start.strftime("%Y-%m-%dT%H:%M") if start else "",
        "unit": model_price.unit,
        "prices": prices,
    }


def _posted_form_data(post):
    data = {name: post.get(name, "") for name in PAGE_FIELDS}
    data["prices"] = {key: post.get(f"price_{key}", "") for key in FORM_KEYS}
    return data


def _form_page(request, project, form, *, model_price=None, errors=None, status=200):
    keys = [
        {
            "key": key,
            "title": title,
            "value": form["prices"].get(key, ""),
            "error": (errors or {}).get(f"prices.{key}"),
        }
        for key, title in FORM_KEYS.items()
    ]
    context = {
        "form": form,
        "keys": keys,
        "units": UNITS,
        "errors": errors or {},
        "model_price": model_price,
        "section": "reports",
    }
    return render(request, "tracing/prices/form.html", context, status=status)


def _after_change(request, project, job, text):
    messages.success(request, f"{text} Costs are being re-priced.")
    url = reverse("model-price-list", args=[project.slug])
    return redirect(f"{url}?job={job.pk}")


@login_required
def price_add(request, project_slug):
    project = open_project(request, project_slug, role=Role.ADMIN)
    if request.method != "POST":
        model = request.GET.get("model", "").strip()[:255]
        form = {
            "model_name": model,
            "match_pattern": f"^{re.escape(model)}$" if model else "",
            "start_date": "",
            "unit": "TOKENS",
            "prices": {},
        }
        return _form_page(request, project, form)
    values, errors = parse_price_form(request.POST)
    if not errors:
        try:
            model_price, job = services.model_price_create(
                project_id=project.id, user=request.user, **values
            )
        except ModelPriceInputError as error:
            errors[error.field] = error.reason
    if errors:
        form = _posted_form_data(request.POST)
        return _form_page(request, project, form, errors=errors, status=400)
    return _after_change(
        request, project, job, f"Price for {model_price.model_name} added."
    )


def _project_price(project, price_id):
    model_price = ModelPrice.objects.filter(project=project, pk=price_id).first()
    if model_price is None:
        raise Http404("No such model price.")
    return model_price


@login_required
def price_edit(request, project_slug, price_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    model_price = _project_price(project, price_id)
    if request.method != "POST":
        form = _price_form_data(model_price)
        return _form_page(request, project, form, model_price=model_price)
    values, errors = parse_price_form(request.POST)
    if not errors:
        try:
            model_price, job = services.model_price_update(
                model_price=model_price, user=request.user, **values
            )
        except ModelPriceInputError as error:
            errors[error.field] = error.reason
    if errors:
        form = _posted_form_data(request.POST)
        return _form_page(
            request, project, form, model_price=model_price, errors=errors, status=400
        )
    return _after_change(
        request, project, job, f"Price for {model_price.model_name} saved."
    )


@login_required
@require_POST
def price_delete(request, project_slug, price_id):
    project = open_project(request, project_slug, role=Role.ADMIN)
    model_price = _project_price(project, price_id)
    name = model_price.model_name
    job = services.model_price_delete(model_price=model_price, user=request.user)
    return _after_change(request, project, job, f"Price for {name} deleted.")
