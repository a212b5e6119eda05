"""Routes of the native API about sessions and end users.

One session or user is read with ``?id=``: their ids may hold "/".
"""

from django.urls import path

from . import v1_explore

PROJECT = "projects/<slug:slug>/"

urlpatterns = [
    path(
        PROJECT + "sessions/",
        v1_explore.SessionCollection.as_view(),
        name="v1-sessions",
    ),
    path(PROJECT + "session/", v1_explore.SessionItem.as_view(), name="v1-session"),
    path(PROJECT + "users/", v1_explore.UserCollection.as_view(), name="v1-users"),
    path(PROJECT + "user/", v1_explore.UserItem.as_view(), name="v1-user"),
]
