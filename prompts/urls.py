from django.urls import path

from . import views

urlpatterns = [
    path("prompts/", views.prompt_list, name="prompt-list"),
]
