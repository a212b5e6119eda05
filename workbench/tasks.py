"""Celery tasks for the workbench app: thin, load by id, call a service."""

from celery import shared_task

from . import webhooks


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id):
    """Send one webhook delivery; queue the next attempt if it should retry."""
    retry_in = webhooks.delivery_attempt(delivery_id)
    if retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=retry_in)
