"""A deleted track takes its stored audio with it, however it was deleted (a view, a cascade
from its project or generation, the admin), once the deletion has committed."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from studio.models import Track

log = logging.getLogger(__name__)


@receiver(post_delete, sender=Track)
def delete_stored_audio(sender, instance: Track, **kwargs) -> None:
    name, storage = instance.file.name, instance.file.storage
    if not name:
        return

    def delete() -> None:
        try:
            storage.delete(name)
        except Exception:  # the row is gone either way; an orphan file is only wasted space
            log.warning("could not delete stored audio %s", name, exc_info=True)

    transaction.on_commit(delete)
