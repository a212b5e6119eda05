"""Public API endpoints about the caller's project and the server itself."""

from django.db import connection
from django.http import JsonResponse
from rest_framework.response import Response

from workbench.api.base import PublicApiView
from workbench.models import Project

SERVER_VERSION = "0.1.0"


def health(request):
    """Unauthenticated liveness check; 503 when the database does not answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "Database unavailable"}, status=503)
    return JsonResponse({"status": "OK", "version": SERVER_VERSION})


class ProjectListView(PublicApiView):
    """The project the API key belongs to, as ``auth_check()`` expects it."""

    def get(self, request):
        project = Project.objects.get(pk=request.user.project_id)
        return Response(
            {
                "data": [
                    {
                        "id": str(project.id),
                        "name": project.name,
                        "organization": {"id": str(project.id), "name": project.name},
                        "metadata": {},
                    }
                ]
            }
        )
