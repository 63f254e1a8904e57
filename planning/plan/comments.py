"""A plan's comment threads after a comment is written: its author edits it (each text it had
stays in its history, reachable from the thread's "edited" mark), the squad's members resolve
a thread or open it again. Adding a comment is planning.plan.live's; removing one goes through
planning.removal_views, like every removal.

Over HTMX each of these answers the whole thread, which replaces the one on the page; without
script a form posts and the plan page opens again at the thread.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access, versioning
from core.http import AuthedRequest
from core.people import display_name
from core.removal import Gone, gone_or_404
from planning.plan.presenters import NOT_DOING, SECTIONS, Thread, comment_threads
from planning.services import mentions_notify
from squads import access as squad_access
from squads import cowriting
from squads.forms import CommentForm
from squads.models import Comment, Squad

_SECTION_SLUGS = {name: slug for slug, (name, _title) in SECTIONS.items()}
_SECTION_SLUGS["not_doing"] = NOT_DOING


def thread_place(squad: Squad, comment: Comment) -> tuple[str, str, str]:
    """Where a comment's thread is: its part on the page ("desired-experience",
    "initiative-<key>"), the thread's address and what a notification calls it."""
    if comment.initiative_id is not None:
        initiative = comment.initiative
        url = reverse("squads:initiative_comments", args=[squad.key, initiative.key])
        return f"initiative-{initiative.key}", url, f"the initiative “{initiative.title}”"
    slug = _SECTION_SLUGS[comment.section]
    title = SECTIONS[slug][1] if slug in SECTIONS else "Not doing"
    return slug, reverse("squads:section_comments", args=[squad.key, slug]), title


def thread_comments(squad: Squad, comment: Comment) -> Thread:
    if comment.initiative_id is not None:
        key = f"initiative:{comment.initiative_id}"
        return comment_threads(squad, initiative_id=comment.initiative_id).get(key, Thread())
    key = f"section:{comment.section}"
    return comment_threads(squad, section=comment.section).get(key, Thread())


def thread_context(
    request: AuthedRequest, squad: Squad, *, part: str, url: str, comments, **extra
) -> dict:
    """What squads/_comments.html needs to draw a thread for this person."""
    actor = access.actor_for(request)
    return {
        "squad": squad,
        "part": part,
        "comments_url": url,
        "comments": comments,
        "open": True,
        "can_comment": access.can_comment_plan(actor, squad),
        "can_moderate": access.can_moderate_comments(actor),
        "can_resolve": access.can_resolve_comments(actor, squad),
        **extra,
    }


def _comment(request: AuthedRequest, key: str, pk: int) -> tuple[Squad, Comment]:
    """The plan's live comment `pk`: another squad's comment is not found here (404), a
    removed one, or one on a removed initiative, is gone (410)."""
    squad, _ = squad_access.get_plan_for_user(request, key)
    found = (
        Comment.objects.select_related("author__profile", "initiative")
        .filter(squad=squad, pk=pk)
        .first()
    )
    if found is None:
        gone_or_404(Comment.everything, "comment", squad=squad, pk=pk)
    if found.initiative is not None and found.initiative.removal_id is not None:
        raise Gone(found.initiative, "initiative")
    return squad, found


def _thread(request: AuthedRequest, squad: Squad, comment: Comment, **extra) -> HttpResponse:
    """The whole thread `comment` is in, as it is now: what an HTMX request swaps in."""
    part, url, _title = thread_place(squad, comment)
    comments = thread_comments(squad, comment)
    context = thread_context(request, squad, part=part, url=url, comments=comments, **extra)
    return render(request, "squads/_comments.html", context)


def _plan_at(squad: Squad, anchor: str) -> str:
    return reverse("squads:plan", args=[squad.key]) + f"#{anchor}"


@require_http_methods(["GET", "HEAD", "POST"])
def comment_edit(request: AuthedRequest, key: str, comment: int) -> HttpResponse:
    squad, found = _comment(request, key, comment)
    if not access.can_edit_comment(access.actor_for(request), found.author_id):
        raise PermissionDenied("Only its author can edit a comment.")
    _part, _url, title = thread_place(squad, found)
    version = found.version
    body = found.body
    errors: list[str] = []
    stale = None
    if request.method == "POST":
        body = request.POST.get("body", "")
        version = versioning.posted_version(request.POST)
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    added = cowriting.comment_edit(
                        comment=found,
                        by=request.user,
                        body=form.cleaned_data["body"],
                        version=version,
                    )
                    # Only whoever the new text names for the first time hears of it.
                    mentions_notify(
                        comment=found,
                        by=request.user,
                        where=f"{squad.name} · {title}",
                        url=_plan_at(squad, f"comment-{found.pk}"),
                        only=added,
                    )
            except versioning.Conflict as conflict:
                stale = conflict.current
                version = conflict.version
                errors = [
                    "This comment was changed after you opened it (perhaps on another page): "
                    "it now reads as shown above. Save again to replace that text with yours."
                ]
            except ValidationError as error:
                errors = error.messages
            else:
                if request.htmx:
                    return _thread(request, squad, found)
                messages.success(request, "Comment saved.")
                return redirect(_plan_at(squad, f"comment-{found.pk}"))
        else:
            errors = [e for field_errors in form.errors.values() for e in field_errors]
    editing = {
        "editing": found.pk,
        "edit_body": body,
        "edit_version": version,
        "edit_errors": errors,
        "edit_current": stale.body if stale is not None else "",
        "edit_url": reverse("squads:comment_edit", args=[squad.key, found.pk]),
    }
    if request.htmx:
        return _thread(request, squad, found, **editing)
    return render(
        request,
        "squads/comment_edit.html",
        {
            "squad": squad,
            "comment": found,
            "back": _plan_at(squad, f"comment-{found.pk}"),
            "where": title,
            **editing,
        },
    )


@require_safe
def comment_history(request: AuthedRequest, key: str, comment: int) -> HttpResponse:
    """Each text the comment had, newest first: who wrote it and when."""
    squad, found = _comment(request, key, comment)
    texts: list[dict] = []
    # The history holds the text before the first edit and after each; a removal or a
    # restore writes an entry too, with the same text: each text is listed once.
    for entry in found.history.order_by("-history_date", "-history_id"):
        if not texts or texts[-1]["body"] != entry.body:
            texts.append({"body": entry.body, "when": entry.edited_at or found.created_at})
    if not texts or texts[0]["body"] != found.body:
        texts.insert(0, {"body": found.body, "when": found.edited_at or found.created_at})
    texts[0]["current"] = True
    _part, _url, title = thread_place(squad, found)
    return render(
        request,
        "squads/comment_history.html",
        {
            "squad": squad,
            "comment": found,
            "author": display_name(found.author),
            "where": title,
            "versions": texts,
            "back": _plan_at(squad, f"comment-{found.pk}"),
        },
    )


@require_POST
def comment_resolve(request: AuthedRequest, key: str, comment: int) -> HttpResponse:
    """Resolve the thread the comment is in (`resolved` = yes), or open it again (no)."""
    squad, found = _comment(request, key, comment)
    if not access.can_resolve_comments(access.actor_for(request), squad):
        raise PermissionDenied("Only the squad's members resolve the threads on its plan.")
    wanted = request.POST.get("resolved")
    if wanted not in ("yes", "no"):
        return HttpResponseBadRequest("Say whether to resolve the thread or open it again.")
    cowriting.comment_thread_resolve(comment=found, by=request.user, resolved=wanted == "yes")
    if request.htmx:
        # A resolved thread folds away, saying who resolved it.
        return _thread(request, squad, found, open=wanted == "no")
    part, _url, _title = thread_place(squad, found)
    messages.success(request, "Thread resolved." if wanted == "yes" else "Thread opened again.")
    return redirect(_plan_at(squad, f"comments-{part}"))
