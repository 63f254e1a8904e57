"""Putting a list in the order someone chose, without overwriting another person's order.

A page that lets people reorder a list (a journey's stages, a squad's initiatives, a
segment's milestones, the company's goals) posts the keys in their new order (`order`) and
in the order the page showed them before the move (`was`): a compare-and-swap on the order
itself. `reordered` refuses the move when those items were reordered since (`OrderChanged`,
with their order now; nothing is written), and when the keys are not distinct items of the
list, the same in both (a ValidationError). The keys may be part of the list (one function's
initiatives, or a list someone added to since the page was drawn): they take, in their new
order, the places they hold, and everything else keeps its place.

Each app's service locks its rows (select_for_update), reads their order, calls `reordered`
and writes the positions with `renumber`, in one transaction; `order_answer` is the view's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

ORDER_INVALID = "Send the items of this list, each once, in their new order."
ORDER_CHANGED = (
    "Someone else changed this order after the page was drawn. Nothing was moved: "
    "the list now shows their order."
)
# A list longer than this is not a list people reorder by hand.
ORDER_MAX = 1000


class OrderChanged(Exception):
    """The items were reordered since the page was drawn; nothing was written."""

    def __init__(self, current: list[str]) -> None:
        super().__init__(ORDER_CHANGED)
        self.current = current  # the posted items' keys, as ordered now


def posted_keys(data, name: str) -> list[str]:
    """The keys a form posted under `name`, in their order (empty ones left out)."""
    return [key.strip() for key in data.getlist(name)[: ORDER_MAX + 1] if key.strip()]


def reordered(current: Sequence[str], *, keys: Sequence[str], was: Sequence[str]) -> list[str]:
    """The whole list's keys after putting `keys` in this order in the places they hold.

    `current` is the list as it is now; `was` the same keys as the page showed them.
    """
    chosen = set(keys)
    if not keys or len(keys) > ORDER_MAX or len(chosen) != len(keys) or set(was) != chosen:
        raise ValidationError(ORDER_INVALID, code="invalid")
    if len(was) != len(keys) or not chosen <= set(current):
        raise ValidationError(ORDER_INVALID, code="invalid")
    now = [key for key in current if key in chosen]
    if now != list(was):
        raise OrderChanged(now)
    placed = iter(keys)
    return [next(placed) if key in chosen else key for key in current]


def renumber(model: type[models.Model], rows: Iterable[models.Model], order: Sequence[str]):
    """Give `rows` (which have `key` and `position`) the positions 0, 1, … of `order`.

    An UPDATE per row that moves, so editors' versions stay: the order is not their text.
    """
    positions = {key: index for index, key in enumerate(order)}
    for row in rows:
        position = positions[row.key]
        if row.position != position:
            model._default_manager.filter(pk=row.pk).update(position=position)
            row.position = position


def order_answer(
    request: HttpRequest, save: Callable[[list[str], list[str]], object], *, back: str
) -> HttpResponse:
    """Save the order a request posts (`order` and `was`, each repeated) through `save` and
    answer: JSON to the page's script (static/js/reorder.js), else back to the page `back`.

    200 when saved; 409 with the items' order now when someone reordered them since; 400
    when the keys are not the list's. Nothing moves unless 200.
    """
    keys = posted_keys(request.POST, "order")
    was = posted_keys(request.POST, "was")
    status, body = 200, {"message": "Order saved."}
    try:
        save(keys, was)
    except OrderChanged as changed:
        status, body = 409, {"message": ORDER_CHANGED, "order": changed.current}
    except ValidationError:
        status, body = 400, {"message": ORDER_INVALID}
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(body, status=status)
    if status == 200:
        messages.success(request, body["message"])
    else:
        messages.error(request, body["message"])
    return redirect(back)
