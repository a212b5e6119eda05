"""The person's own access tokens: create one, see it once, list and revoke.

Tokens belong to the person, not to a project, so the page sits outside the
project pages. Nobody sees or revokes anyone else's tokens: another person's
token is a 404, as if it did not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from workbench import services
from workbench.models import PersonalAccessToken
from workbench.services import SettingsInputError

# The largest id a database row can have; a larger number names no token.
LARGEST_ID = 2**63 - 1


def _tokens_page(request, *, status=200, **extra):
    context = {
        "tokens": PersonalAccessToken.objects.filter(user=request.user),
        "api_host": request.build_absolute_uri("/").rstrip("/"),
        "name": "",
        "error": None,
        "name_max_length": PersonalAccessToken._meta.get_field("name").max_length,
        **extra,
    }
    return render(request, "workbench/tokens.html", context, status=status)


def _own_token(user, raw_id):
    """The user's token with that id, or 404 (also for anyone else's)."""
    raw_id = (raw_id or "").strip()
    if not raw_id.isascii() or not raw_id.isdigit() or int(raw_id) > LARGEST_ID:
        raise Http404("No such access token.")
    record = PersonalAccessToken.objects.filter(pk=int(raw_id), user=user).first()
    if record is None:
        raise Http404("No such access token.")
    return record


@login_required
def token_list(request):
    return _tokens_page(request)


@never_cache
@login_required
@require_POST
def token_create(request):
    """Create a token and show it in this answer, the only time."""
    name = request.POST.get("name", "")
    try:
        record, token = services.access_token_create(user=request.user, name=name)
    except SettingsInputError as error:
        return _tokens_page(request, status=400, name=name, error=error)
    return _tokens_page(request, new_record=record, new_token=token)


@login_required
@require_POST
def token_revoke(request):
    record = _own_token(request.user, request.POST.get("token"))
    try:
        services.access_token_revoke(record=record, actor=request.user)
    except SettingsInputError as error:
        return _tokens_page(request, status=400, error=error)
    messages.success(
        request, f"Access token {record.name} revoked; it stops working now."
    )
    return redirect("access-tokens")
