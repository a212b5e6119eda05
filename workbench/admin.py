from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from .models import ApiKey, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "naming_rule", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    autocomplete_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(SimpleHistoryAdmin):
    list_display = [
        "public_key",
        "project",
        "secret_hint",
        "note",
        "created_at",
        "revoked_at",
    ]
    list_filter = ["project"]
    readonly_fields = ["public_key", "secret_hash", "secret_hint", "created_at"]
    fields = [
        "project",
        "note",
        "public_key",
        "secret_hint",
        "created_at",
        "revoked_at",
    ]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        api_key, secret = ApiKey.generate(
            project=obj.project, note=obj.note, created_by=request.user
        )
        obj.pk = api_key.pk
        messages.warning(
            request,
            f"New key pair: public {api_key.public_key}, secret {secret}. "
            "Copy the secret now: it is stored only as a hash and never shown again.",
        )
