"""What the review's findings tell the webhooks and chat channels (core.events): a finding
that opens (new, back after being resolved or dismissed, or worse than when acknowledged) and
one the review resolves because it is no longer found. A review of a large cycle opens many
at once, so they go out as one batch (`publish_many`), with the squads they name read in one
query. The payload's fields: docs/webhooks.md, "finding.*".
"""

from __future__ import annotations

from django.urls import reverse

from core.events import publish_many
from planning.models import Finding
from squads.models import Squad

_SUMMARY_MESSAGE = 200


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_MESSAGE else text[: _SUMMARY_MESSAGE - 1] + "…"


def publish_findings(*, cycle, opened: list[int], resolved: list[int]) -> None:
    """Tell listeners, once the review commits, about the findings (by id) it opened and
    resolved."""
    if not opened and not resolved:
        return
    ids = [*opened, *resolved]
    rows = []
    for start in range(0, len(ids), 2000):
        rows += Finding.objects.filter(pk__in=ids[start : start + 2000]).values(
            "pk", "rule", "kind", "severity", "message", "subjects", "state"
        )
    keys = {
        s.split(":", 1)[1] for row in rows for s in row["subjects"] or () if s.startswith("squad:")
    }
    squads = {
        key: {"id": pk, "key": key, "name": name}
        for pk, key, name in Squad.everything.filter(cycle=cycle, key__in=keys).values_list(
            "pk", "key", "name"
        )
    }
    opened_ids = set(opened)
    items = []
    for row in rows:
        named = [
            squads[s.split(":", 1)[1]]
            for s in row["subjects"] or ()
            if s.startswith("squad:") and s.split(":", 1)[1] in squads
        ]
        is_open = row["pk"] in opened_ids
        items.append(
            {
                "name": "finding.opened" if is_open else "finding.resolved",
                "summary": ("" if is_open else "Resolved: ") + _short(row["message"]),
                "path": reverse("finding", kwargs={"pk": row["pk"]}),
                "squad_ids": [s["id"] for s in named],
                "data": {
                    "finding": {
                        "id": row["pk"],
                        "rule": row["rule"],
                        "kind": row["kind"],
                        "severity": row["severity"],
                        "message": row["message"],
                        "state": row["state"],
                        "subjects": list(row["subjects"] or ()),
                    },
                    "cycle": {"key": cycle.key, "name": cycle.name},
                    "squads": named,
                    "actor": None,
                },
            }
        )
    publish_many(items)
