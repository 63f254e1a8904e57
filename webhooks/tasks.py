"""The worker's side of webhooks: each delivery tried once per task, a retry queued with
its countdown by the try that failed (services.delivery_attempt); a batch of new deliveries
fanned out here, so a large import sends one message to the broker, not one per event."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_many(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        deliver.delay(delivery_id)


@shared_task(ignore_result=True)
def deliver_overdue() -> None:
    """On a schedule: send again the deliveries whose task was lost."""
    for delivery_id in services.overdue_deliveries():
        deliver.delay(delivery_id)
