"""The person's access token pages, under ``tokens/`` (not project pages)."""

from django.urls import path

from .views import tokens

urlpatterns = [
    path("", tokens.token_list, name="access-tokens"),
    path("new/", tokens.token_create, name="access-token-create"),
    path("revoke/", tokens.token_revoke, name="access-token-revoke"),
]
