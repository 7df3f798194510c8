"""Every job counts in the ledger from the moment it is created, whichever path creates it (the
generate form, a retry, a set, the admin): its opening cost is set before the row is first saved
and its day's totals gain it in the same transaction. A saved track adds its seconds of audio.
(`bulk_create` sends no signals: a path that bulk-creates jobs sets `ledger.opening` on each and
calls `ledger.record_starts` with them, as a set does.)"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from studio.models import Generation, Track
from studio.spend import ledger


@receiver(pre_save, sender=Generation)
def price_new_job(sender, instance: Generation, raw: bool = False, **kwargs) -> None:
    if raw or instance.pk is not None or instance.spend is not None or instance.spend_basis:
        return
    for name, value in ledger.opening(instance.model_key, instance.params).items():
        setattr(instance, name, value)


@receiver(post_save, sender=Generation)
def count_new_job(sender, instance: Generation, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        ledger.record_start(instance)


@receiver(post_save, sender=Track)
def count_audio(sender, instance: Track, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and instance.duration_seconds:
        ledger.add_audio(instance.generation, instance.duration_seconds)
