"""What a delivery's body is, for each format (docs/webhooks.md): pure functions of an event.

- Throughline JSON: the versioned envelope (schema "throughline.event/1", described by
  docs/webhooks/event-1.schema.json) around the event's own fields.
- Slack: a Block Kit message: the summary as a section, the squads and the event as context,
  a button to the item. Everything people wrote is escaped for Slack's mrkdwn (&, <, >), so
  a dependency's words cannot become a link, a mention of @channel or a broken message.
- Microsoft Teams: a message with one Adaptive Card attachment, the words people wrote in
  TextRuns (which Teams never reads as Markdown, so they cannot become links), and an
  Action.OpenUrl to the item.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from core.events import EVENTS, Event

SCHEMA = "throughline.event/1"
OPEN_LABEL = "Open in Throughline"


def item_url(event: Event) -> str:
    """The item's absolute address: the site's public address (THROUGHLINE_URL) and its path."""
    return settings.THROUGHLINE_URL.rstrip("/") + event.path


def envelope(event: Event) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "id": event.id,
        "event": event.name,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "summary": event.summary,
        "url": item_url(event),
        "data": event.data,
    }


def slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn: its three control characters as entities (Slack's rule)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _squad_names(event: Event) -> str:
    return ", ".join(s["name"] for s in event.data.get("squads") or ())


def slack(event: Event) -> dict[str, Any]:
    summary = slack_escape(event.summary)
    context = f"{slack_escape(EVENTS[event.name])} · `{event.name}`"
    if squads := _squad_names(event):
        context = f"{slack_escape(squads)} · {context}"
    return {
        "text": summary,
        "blocks": [
            # verbatim: Slack leaves an address, a #channel or a name in people's words as
            # they wrote them, never turned into a link or a mention.
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": summary[:3000], "verbatim": True},
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": context[:3000], "verbatim": True}],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": OPEN_LABEL},
                        "url": item_url(event),
                        "action_id": "open",
                    }
                ],
            },
        ],
    }


def teams(event: Event) -> dict[str, Any]:
    context = EVENTS[event.name]
    if squads := _squad_names(event):
        context = f"{squads} · {context}"
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "RichTextBlock",
                "inlines": [{"type": "TextRun", "text": event.summary, "weight": "bolder"}],
            },
            {
                "type": "RichTextBlock",
                "inlines": [{"type": "TextRun", "text": context, "isSubtle": True}],
            },
        ],
        "actions": [{"type": "Action.OpenUrl", "title": OPEN_LABEL, "url": item_url(event)}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


BUILDERS = {"json": envelope, "slack": slack, "teams": teams}


def body(event: Event, format: str) -> str:
    """The delivery's body as sent: compact JSON in UTF-8."""
    return json.dumps(BUILDERS[format](event), ensure_ascii=False, separators=(",", ":"))
