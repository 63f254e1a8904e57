"""The scheduled pull of a segment's milestone readings from a CSV address.

Leadership gives a segment a `milestone_feed_url`; a Celery task (journeys.tasks) fetches it
on a schedule and imports it through the same code as an upload (source "feed"), keeping
how it went on the segment so the milestone page says "Last pulled …" or the error.

The address is fetched by the server, so it must not become a way into the network the
server sits in: only http and https, and no host that resolves to a private, loopback,
link-local, reserved or otherwise non-public address (unless MILESTONE_FEED_ALLOW_PRIVATE is
on, for a feed inside the company's own network). Redirects are followed by hand, a few at
most, each checked the same way; a body over the import's size cap is refused unread; the
fetch has a 10 second timeout per connection and read, and the whole pull PULL_SECONDS.
"""

from __future__ import annotations

import time
from urllib.parse import urljoin

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError

from core import outbound
from journeys import outcomes, readings
from journeys.models import MilestoneReading, Segment

TIMEOUT_SECONDS = 10
MAX_REDIRECTS = 3
# The whole pull, however the address sends it: a server that keeps each read under the
# timeout by sending a byte at a time would otherwise hold the worker for days.
PULL_SECONDS = 60


class FeedError(Exception):
    """Why a pull failed, in a sentence for the milestone page."""


def _allow_private() -> bool:
    return bool(getattr(settings, "MILESTONE_FEED_ALLOW_PRIVATE", False))


def address_problem(url: str, *, resolve: bool = True) -> str:
    """Why the server may not fetch `url`; "" when it may (core.outbound.address_problem).
    With `resolve`, the host's addresses are looked up and each must be public (unless
    private ones are allowed)."""
    return outbound.address_problem(
        url,
        allow_private=_allow_private(),
        resolve=resolve,
        example="https://example.com/readings.csv",
        reaches="only pulls from public addresses",
    )


def _seconds(count: int) -> str:
    return f"{count} second{'s' if count != 1 else ''}"


def _body(response: requests.Response, *, limit: int, deadline: float) -> bytes:
    """The response's body, up to `limit` bytes and until `deadline`; FeedError otherwise."""
    body = bytearray()
    try:
        # read1: at most one read of the connection each time, so the deadline is looked at
        # between reads however slowly the bytes come.
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            body += chunk
            if len(body) > limit:
                raise FeedError("The file at the address is larger than 1 MB.")
            if time.monotonic() > deadline:
                raise FeedError(
                    f"The address did not send the whole file within {_seconds(PULL_SECONDS)}."
                )
    except urllib3.exceptions.ReadTimeoutError:
        raise FeedError(f"The address stopped sending for {_seconds(TIMEOUT_SECONDS)}.") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise FeedError(f"The file could not be read to its end ({type(exc).__name__}).") from None
    return bytes(body)


def fetch(url: str) -> bytes:
    """The body at `url`, checked hop by hop; FeedError with the reason otherwise."""
    deadline = time.monotonic() + PULL_SECONDS
    with outbound.session(allow_private=_allow_private(), seconds=PULL_SECONDS) as session:
        late = f"The address did not send the whole file within {_seconds(PULL_SECONDS)}."
        try:
            data = _fetch(session, url, deadline)
        except FeedError:
            if session.expired:  # cut, whatever it was waiting for
                raise FeedError(late) from None
            raise
        # A cut connection reads as an ending one: what came before the cut is not the file.
        if session.expired:
            raise FeedError(late)
        return data


def _fetch(session: outbound.OutboundSession, url: str, deadline: float) -> bytes:
    """fetch's hops, in the session that cuts them all at PULL_SECONDS."""
    for _hop in range(MAX_REDIRECTS + 1):
        if problem := address_problem(url):
            raise FeedError(problem)
        try:
            response = session.get(
                url,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "text/csv, text/plain;q=0.9, */*;q=0.1"},
            )
        except requests.Timeout:
            raise FeedError(
                f"The address did not answer within {TIMEOUT_SECONDS} seconds."
            ) from None
        except requests.RequestException as exc:
            raise FeedError(
                outbound.refusal(exc) or f"The address could not be reached ({type(exc).__name__})."
            ) from None
        with response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                if not location:
                    raise FeedError("The address redirects without saying where to.")
                url = urljoin(url, location)
                continue
            if response.status_code != 200:
                raise FeedError(f"The address answered {response.status_code}, not 200.")
            limit = readings.IMPORT_MAX_BYTES
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise FeedError("The file at the address is larger than 1 MB.")
            return _body(response, limit=limit, deadline=deadline)
    raise FeedError(f"The address redirects more than {MAX_REDIRECTS} times.")


def pull(segment: Segment) -> readings.Imported | None:
    """Fetch and import one segment's feed, and keep how it went on the segment. Returns
    what was imported, or None when it failed (the reason is kept)."""
    if not segment.milestone_feed_url:
        return None
    try:
        data = fetch(segment.milestone_feed_url)
        imported = readings.readings_import_csv(
            segment=segment, data=data, source=MilestoneReading.Source.FEED
        )
    except FeedError as exc:
        outcomes.segment_feed_record(segment=segment, error=str(exc))
        return None
    except ValidationError as exc:
        problems = exc.messages
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        outcomes.segment_feed_record(
            segment=segment, error=f"The file was not imported, nothing changed: {shown}"
        )
        return None
    outcomes.segment_feed_record(segment=segment, rows=imported.total)
    return imported
