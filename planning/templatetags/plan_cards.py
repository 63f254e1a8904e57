"""The plan page's initiative cards, written in Python (planning.plan.presenters)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# What squads/_comments.html draws for a part nobody has commented on yet: the same markup,
# without the template engine (a plan page has one such thread per initiative).
_NO_COMMENTS = (
    '<details class="comments no-print" id="comments-{part}">\n'
    "  <summary>Comments</summary>\n"
    "  \n"
    '  <p class="muted small">No comments yet.</p>\n'
    "  \n"
    "  {form}\n"
    "</details>\n"
)
_COMMENT_FORM = (
    "\n"
    '  <form class="form comment-form" method="post" action="{url}"\n'
    '        data-edit-form data-saved-message="Comment posted."\n'
    '        hx-post="{url}" hx-target="#comments-{part}" hx-swap="outerHTML">\n'
    "    {csrf}\n"
    '    <label for="comment-{part}-body" class="visually-hidden">Add a comment</label>\n'
    '    <textarea name="body" id="comment-{part}-body" rows="2" maxlength="5000" required\n'
    '              placeholder="Add a comment; @username tells that person"></textarea>\n'
    "    \n"
    '    <div class="form-actions"><button type="submit" class="btn btn-small">Comment</button>'
    "</div>\n"
    "  </form>\n"
    "  "
)


@register.simple_tag(takes_context=True)
def initiative_body(context, card) -> SafeString:
    """`card` as read, for the arrangement (`view`) and the person (`can_edit`) in context."""
    return card.body_html(
        view=context.get("view", ""),
        can_edit=bool(context.get("can_edit")),
        csrf=str(context.get("csrf_token") or ""),
    )


@register.simple_tag(takes_context=True)
def initiative_comments(context, card) -> SafeString:
    """The card's comment thread: squads/_comments.html, drawn in Python when it is empty."""
    part = f"initiative-{card.item.key}"
    url = f"{card.url}comments/"
    if card.comments or any(k in context for k in ("comment_errors", "comment_body", "open")):
        included = context.template.engine.get_template("squads/_comments.html")
        with context.push(comments_url=url, part=part, comments=card.comments):
            return included.render(context)
    form = ""
    if context.get("can_comment"):
        token = context.get("csrf_token")
        csrf = (
            format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            if token and token != "NOTPROVIDED"
            else ""
        )
        form = format_html(_COMMENT_FORM, url=url, part=part, csrf=csrf)
    return format_html(_NO_COMMENTS, part=part, form=form)
