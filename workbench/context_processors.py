def current_project(request):
    """Expose the project the page is about (set by views) to the base layout."""
    return {"current_project": getattr(request, "project", None)}
