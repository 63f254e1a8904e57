"""What a dependency's events say (core.events): the summary people read in a chat
channel, the address of the dependency on the board, and the fields of the webhook payload
(docs/webhooks.md, "dependency.*").

The services call `publish_dependency` for one change and `publish_requested` for many new
dependencies at once (an import), which reads every squad they name with one query and is
heard by listeners as one batch.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from core.events import publish, publish_many
from core.people import display_name

# The provider's answer (services.RESPONSES) -> the event it makes.
ANSWERED = {
    "accept": "dependency.accepted",
    "decline": "dependency.declined",
    "at_risk": "dependency.at_risk",
    "done": "dependency.done",
}
_SUMMARY_WHAT = 120


def _squad(squad) -> dict | None:
    if squad is None:
        return None
    return {"id": squad.pk, "key": squad.key, "name": squad.name}


def _initiative(initiative) -> dict | None:
    if initiative is None:
        return None
    return {"id": initiative.pk, "key": initiative.key, "title": initiative.title}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_WHAT else text[: _SUMMARY_WHAT - 1] + "…"


def _item(name: str, dep, *, by, reason: str, squads: dict[int, object]) -> dict:
    """publish's arguments for one event of `dep`; `squads` maps each squad id it names
    to the squad."""
    needer = squads[dep.from_squad_id or dep.from_initiative.squad_id]
    provider_id = dep.to_squad_id or (dep.to_initiative.squad_id if dep.to_initiative_id else None)
    provider = squads.get(provider_id) if provider_id else None
    provider_name = provider.name if provider is not None else dep.to_function
    what = _short(dep.what)
    summary = {
        "dependency.requested": f"{needer.name} asks {provider_name} for “{what}” "
        f"by {dep.due.day} {dep.due:%b %Y}",
        "dependency.accepted": f"{provider_name} accepted “{what}” for {needer.name}",
        "dependency.declined": f"{provider_name} declined “{what}” for {needer.name}",
        "dependency.at_risk": f"{provider_name} put “{what}” for {needer.name} at risk",
        "dependency.done": f"{provider_name} delivered “{what}” to {needer.name}",
    }[name]
    if reason:
        summary += f": {_short(reason)}"
    data = {
        "dependency": {
            "id": dep.pk,
            "key": dep.key,
            "what": dep.what,
            "status": dep.status,
            "due": dep.due.isoformat(),
            "blocking": dep.blocking,
            "reason": reason,
            "needed_by": _squad(needer),
            "needed_by_initiative": _initiative(dep.from_initiative),
            "provided_by": _squad(provider),
            "provided_by_initiative": _initiative(dep.to_initiative),
            "provided_by_function": dep.to_function,
            "owner": display_name(dep.owner) if dep.owner_id else None,
        },
        "squads": [s for s in (_squad(needer), _squad(provider)) if s is not None],
        "actor": {"name": display_name(by)} if by is not None else None,
    }
    return {
        "name": name,
        "summary": summary,
        "path": f"{reverse('board:board')}?{urlencode({'dep': dep.key})}",
        "squad_ids": [s["id"] for s in data["squads"]],
        "data": data,
    }


def _squads_of(deps) -> dict[int, object]:
    from squads.models import Squad

    ids = set()
    for dep in deps:
        ids |= {dep.from_squad_id, dep.to_squad_id}
        for initiative in (dep.from_initiative, dep.to_initiative):
            if initiative is not None:
                ids.add(initiative.squad_id)
    return Squad.everything.in_bulk([pk for pk in ids if pk is not None])


def publish_dependency(name: str, dep, *, by, reason: str = "") -> None:
    """Tell listeners about one change of `dep` once the transaction commits."""
    publish(**_item(name, dep, by=by, reason=reason, squads=_squads_of([dep])))


def publish_requested(deps, *, by) -> None:
    """Tell listeners about many new dependencies at once, one event each, in one batch."""
    squads = _squads_of(deps)
    publish_many([_item("dependency.requested", d, by=by, reason="", squads=squads) for d in deps])
