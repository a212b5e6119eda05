from django.urls import path

from . import views
from .views import diff, editing, history, review

# Names hold "/" (folders), so they use the path converter; the version route
# comes first because "<path:name>/" would also match ".../v/3/".
urlpatterns = [
    path("prompts/", views.prompt_list, name="prompt-list"),
    path(
        "prompts/<path:name>/v/<int:number>/",
        views.prompt_version,
        name="prompt-version",
    ),
    # Actions come before the name: "<path:name>/edit/" would be ambiguous.
    path("new-prompt/", editing.prompt_new, name="prompt-new"),
    path("edit/<path:name>/", editing.prompt_edit, name="prompt-edit"),
    path("preview/", editing.prompt_preview, name="prompt-preview"),
    path("diff/<path:name>/", diff.prompt_diff, name="prompt-diff"),
    # Review: versions, comments and prompts by id; the timeline by name.
    path(
        "versions/<uuid:version_id>/comments/",
        review.comment_add,
        name="comment-add",
    ),
    path(
        "versions/<uuid:version_id>/comments/form/",
        review.comment_form,
        name="comment-form",
    ),
    path("comments/<int:comment_id>/edit/", review.comment_edit, name="comment-edit"),
    path(
        "comments/<int:comment_id>/delete/",
        review.comment_delete,
        name="comment-delete",
    ),
    path(
        "comments/<int:comment_id>/resolve/",
        review.comment_resolve,
        name="comment-resolve",
    ),
    path(
        "versions/<uuid:version_id>/review/request/",
        review.review_request,
        name="review-request",
    ),
    path(
        "versions/<uuid:version_id>/review/decide/",
        review.review_decide,
        name="review-decide",
    ),
    path("labels/<uuid:prompt_id>/move/", review.label_move, name="label-move"),
    path(
        "labels/<uuid:prompt_id>/rollback/",
        review.label_rollback,
        name="label-rollback",
    ),
    path("history/<path:name>/", history.prompt_history, name="prompt-history"),
    path("prompts/<path:name>/", views.prompt_detail, name="prompt-detail"),
]
