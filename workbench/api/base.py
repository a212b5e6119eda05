"""Base class for Langfuse-compatible public API views."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from workbench.auth import ApiKeyAuthentication


class PublicApiView(APIView):
    """Authenticated by a project's API key; ``request.user`` is the project's
    ServicePrincipal and every query must be scoped to its ``project_id``."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
