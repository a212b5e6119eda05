"""Admin views of the registry: for looking, not for changing.

Versions are immutable and labels move only through the services, which
record every move and invalidate the fetch cache; so everything here is
read-only, and deleting a prompt goes through ``prompt_delete`` too.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import Label, LabelMove, Prompt, PromptVersion


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PromptVersionInline(ReadOnlyInline):
    model = PromptVersion
    fields = ["number", "commit_message", "created_by_name", "created_at"]
    readonly_fields = fields
    ordering = ["-number"]


class LabelInline(ReadOnlyInline):
    model = Label
    fields = ["name", "version", "updated_at"]
    readonly_fields = fields


@admin.register(Prompt)
class PromptAdmin(SimpleHistoryAdmin):
    list_display = ["name", "project", "type", "highest_version", "updated_at"]
    list_filter = ["project", "type"]
    search_fields = ["name"]
    readonly_fields = [
        "project",
        "name",
        "type",
        "tags",
        "highest_version",
        "created_at",
        "updated_at",
    ]
    inlines = [LabelInline, PromptVersionInline]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        services.prompt_delete(project=obj.project, name=obj.name, actor=request.user)

    def delete_queryset(self, request, queryset):
        for prompt in queryset.select_related("project"):
            self.delete_model(request, prompt)


@admin.register(LabelMove)
class LabelMoveAdmin(admin.ModelAdmin):
    list_display = [
        "prompt",
        "label",
        "from_version",
        "to_version",
        "moved_by_name",
        "moved_at",
    ]
    list_filter = ["label", "prompt__project"]
    search_fields = ["prompt__name", "label", "moved_by_name"]
    date_hierarchy = "moved_at"
    readonly_fields = list_display + ["moved_by"]

    def has_add_permission(self, request):
        return False

    # Deletion stays possible: deleting a prompt cascades to its moves, and
    # the admin refuses a cascade into a model it may not delete.
    def has_change_permission(self, request, obj=None):
        return False
