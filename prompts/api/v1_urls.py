"""Routes of the native API about prompts, under ``api/v1/projects/<slug>/``.

Prompts are addressed by id, never by name: names hold "/" and any text, so
nothing may follow a name in a path. ``GET prompts/?name=`` finds the id.
"""

from django.urls import path

from . import v1

PROMPT = "projects/<slug:slug>/prompts/<uuid:prompt_id>/"
VERSION = PROMPT + "versions/<int:number>/"
COMMENT = PROMPT + "comments/<int:comment_id>/"

urlpatterns = [
    path(
        "projects/<slug:slug>/prompts/",
        v1.PromptCollection.as_view(),
        name="v1-prompts",
    ),
    path(PROMPT, v1.PromptItem.as_view(), name="v1-prompt"),
    path(PROMPT + "history/", v1.PromptHistory.as_view(), name="v1-prompt-history"),
    path(PROMPT + "versions/", v1.VersionCollection.as_view(), name="v1-versions"),
    path(VERSION, v1.VersionItem.as_view(), name="v1-version"),
    path(VERSION + "comments/", v1.CommentCollection.as_view(), name="v1-comments"),
    path(
        VERSION + "review-requests/",
        v1.ReviewRequestCollection.as_view(),
        name="v1-review-requests",
    ),
    path(VERSION + "reviews/", v1.ReviewCollection.as_view(), name="v1-reviews"),
    path(COMMENT, v1.CommentItem.as_view(), name="v1-comment"),
    path(COMMENT + "resolve/", v1.CommentResolve.as_view(), name="v1-comment-resolve"),
    path(COMMENT + "reopen/", v1.CommentReopen.as_view(), name="v1-comment-reopen"),
    path(PROMPT + "labels/move/", v1.LabelMoveView.as_view(), name="v1-label-move"),
    path(
        PROMPT + "labels/rollback/",
        v1.LabelRollbackView.as_view(),
        name="v1-label-rollback",
    ),
    path(PROMPT + "grants/", v1.PromptGrantCollection.as_view(), name="v1-grants"),
    path(
        PROMPT + "grants/<str:username>/",
        v1.PromptGrantItem.as_view(),
        name="v1-grant",
    ),
    path(
        "projects/<slug:slug>/folder-grants/",
        v1.FolderGrantCollection.as_view(),
        name="v1-folder-grants",
    ),
    path(
        "projects/<slug:slug>/folder-grants/<int:grant_id>/",
        v1.FolderGrantItem.as_view(),
        name="v1-folder-grant",
    ),
]
