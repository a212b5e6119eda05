"""Celery tasks: thin wrappers that load by id and call a service."""

from celery import shared_task

from . import notifications


@shared_task(ignore_result=True)
def announce(kind, pk):
    """Send the notifications for one registry event (see services.events)."""
    notifications.announce(kind, pk)
