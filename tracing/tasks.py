"""Celery tasks: thin wrappers that load by id and call a service."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True, acks_late=True)
def process_batch(batch_id):
    """Merge one accepted batch into traces, observations and scores."""
    services.batch_process(batch_id=batch_id)


@shared_task(ignore_result=True)
def requeue_unprocessed_batches():
    """Beat: re-queue batches accepted over a minute ago and still unprocessed."""
    services.batches_requeue()


@shared_task(ignore_result=True)
def rollup_recent():
    """Beat: roll new and changed LLM calls up into hourly and daily buckets."""
    from .rollups import rollup_recent as rollup

    rollup()


@shared_task(ignore_result=True, acks_late=True)
def run_background_job(job_id):
    """Run one queued ``BackgroundJob`` (a roll-up rebuild, a re-pricing)."""
    from .jobs import job_run

    job_run(job_id)


@shared_task(ignore_result=True)
def check_budgets():
    """Beat: announce budget thresholds crossed this month, in every project."""
    from .budgets import budget_alerts_check

    budget_alerts_check()


@shared_task(ignore_result=True)
def send_budget_alert_email(alert_id):
    """Email one budget alert to the project's approvers and admins."""
    from .budgets import alert_email_send

    alert_email_send(alert_id)
