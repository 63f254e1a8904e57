"""Background work for the milestone maps: the scheduled pull of segments' CSV feeds."""

from __future__ import annotations

import logging

from celery import shared_task

from journeys import milestone_feed
from journeys.models import Segment

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def pull_milestone_feed(segment_id: int) -> None:
    """Pull one segment's feed. Idempotent: a rerun imports the same readings again, each
    replacing the one of its milestone and day."""
    segment = Segment.objects.filter(pk=segment_id).exclude(milestone_feed_url="").first()
    if segment is None:
        return
    imported = milestone_feed.pull(segment)
    if imported is None:
        logger.info("The milestone feed of segment %s failed", segment.key)


@shared_task(acks_late=True, ignore_result=True)
def pull_milestone_feeds() -> None:
    """The periodic sweep (celery beat): queue a pull for every segment with a feed."""
    for segment_id in Segment.objects.exclude(milestone_feed_url="").values_list("pk", flat=True):
        pull_milestone_feed.delay(segment_id)
