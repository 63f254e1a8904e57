"""The plan page's initiative cards, written in Python (planning.plan.presenters)."""

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def initiative_body(context, card) -> SafeString:
    """`card` as read, for the arrangement (`view`) and the person (`can_edit`) in context."""
    return card.body_html(view=context.get("view", ""), can_edit=bool(context.get("can_edit")))
