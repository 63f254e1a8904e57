from __future__ import annotations

from django.http import HttpRequest

from planning.cycles import current_cycle
from planning.models import Cycle


def throughline(request: HttpRequest) -> dict:
    """The navigation bar's needs: the cycles to choose from and the one chosen."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "current_cycle": current_cycle(request),
        "all_cycles": Cycle.objects.order_by("-starts", "key").only("key", "name"),
    }
