from django.urls import path

from . import views

# Names hold "/" (folders), so they use the path converter; the version route
# comes first because "<path:name>/" would also match ".../v/3/".
urlpatterns = [
    path("prompts/", views.prompt_list, name="prompt-list"),
    path(
        "prompts/<path:name>/v/<int:number>/",
        views.prompt_version,
        name="prompt-version",
    ),
    path("prompts/<path:name>/", views.prompt_detail, name="prompt-detail"),
]
