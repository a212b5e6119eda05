"""A template tag that asks what the viewing user may do, for showing buttons.

It answers with the same rule as the view behind the button, from the
membership the page already loaded (``request.membership``), so it costs no
query.
"""

from django import template

from workbench.models import Role

register = template.Library()


def _membership(request, project_id):
    membership = getattr(request, "membership", None)
    if membership is None or membership.project_id != project_id:
        return None
    return membership


@register.simple_tag(takes_context=True)
def can_create_prompts(context, project):
    """Whether the user may create prompts in ``project`` (project editor+)."""
    request = context["request"]
    membership = _membership(request, project.id)
    return request.user.is_superuser or bool(
        membership and membership.has_role(Role.EDITOR)
    )
