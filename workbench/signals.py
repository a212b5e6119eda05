"""Keep the cached API key records true to the table, whoever changes it.

The public API authenticates from a cached copy of each key. Admin bulk
deletes, shell edits and services all end here, so a revoked or deleted key
stops working as soon as the change commits.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .auth import forget_api_key
from .models import ApiKey


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def forget_changed_api_key(sender, instance, **kwargs):
    public_key = instance.public_key
    # Now, and again after commit: a request in between may re-cache the row
    # as it was before this transaction.
    forget_api_key(public_key)
    transaction.on_commit(lambda: forget_api_key(public_key))
