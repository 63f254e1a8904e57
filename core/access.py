"""Who may do what: the one place every view asks.

Everyone signed in reads the company's plans, except that a cycle may keep plans its DRI has
not approved (drafts) to the squad's members, leadership and operations. Writing depends on a
person's role and on their relation to the object:

- administrators (superusers) may do everything;
- leadership (the "Leadership" group) edits journeys, stages, segments, the company's goals,
  cycles, functions and their capacity, says which squad covers a stage, moves each cycle
  through the season, and manages people: invites them, deactivates and reactivates them,
  sets their function and groups;
- operations (the "Operations" group) triages findings and edits the board's statuses;
- leadership, operations and a segment's success owner record the readings of the
  segment's time-to-value milestones;
- a squad's members edit their squad's plan, initiatives, key-result check-ins and the
  dependencies their squad needs, and resolve the comment threads on its plan;
- everyone who reads a plan comments on it; a comment's author edits and removes it
  (administrators remove any);
- the squad's DRI, as a member, also manages membership and the OKR (the company goals its
  objective serves included), and approves the plan;
- operations and leadership manage the outgoing webhooks and chat channels; a squad's DRI
  adds Slack and Teams channels for their own squad;
- the provider side (members of the providing squad; for a dependency a function provides,
  its owner, who must be of that function) accepts, declines or updates the dependencies
  addressed to it. An owner is always on the provider side (dependencies.services.check_owner),
  and one who has left it (a squad, a function) no longer answers.

Views call `actor_for(request)` once and then the `can_*` functions, or the `get_*_rw`
helpers that raise PermissionDenied. Objects that do not exist answer 404 whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.db import connection
from django.db.models import Q
from django.http import HttpRequest

from core.people import function_name

LEADERSHIP = "Leadership"
OPERATIONS = "Operations"


@dataclass
class Actor:
    """The signed-in person with the roles and relations the rules need, loaded once."""

    user: object
    groups: frozenset[str] = field(default_factory=frozenset)
    # For the navigation bar, read in the same round trip: the name shown and the number
    # of unread notifications when the person was first looked at in this request.
    display_name: str = ""
    unread_notifications: int = 0
    # The directory's page revision (core.pagecache) as read with the relations, from the
    # primary, on PostgreSQL (where triggers move it); None elsewhere or before any change.
    # core.cycles keeps the cycles read under it for the next request.
    directory: int | None = None

    @property
    def is_admin(self) -> bool:
        return bool(self.user.is_superuser)

    @property
    def is_leadership(self) -> bool:
        return self.is_admin or LEADERSHIP in self.groups

    @property
    def is_operations(self) -> bool:
        return self.is_admin or OPERATIONS in self.groups

    @cached_property
    def member_of(self) -> frozenset[int]:
        return frozenset(self.user.memberships.values_list("squad_id", flat=True))

    @cached_property
    def dri_of(self) -> frozenset[int]:
        return frozenset(self.user.squads_led.values_list("id", flat=True))

    @cached_property
    def functions(self) -> frozenset[str]:
        """Their function as core.people.function_name compares it: the one on their profile
        (not those they bring to squads, which the squads' DRIs set)."""
        profile = getattr(self.user, "profile", None)
        return frozenset({function_name(getattr(profile, "function", "") or "")}) - {""}


# Everything the rules need about a person, in one round trip.
_RELATIONS = """
SELECT 'g', g.name FROM auth_group g
  JOIN auth_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = %s
UNION ALL SELECT 'm', CAST(squad_id AS TEXT) FROM squads_membership WHERE person_id = %s
UNION ALL SELECT 'd', CAST(id AS TEXT) FROM squads_squad WHERE dri_id = %s
UNION ALL SELECT 'p', display_name FROM planning_profile WHERE user_id = %s
UNION ALL SELECT 'f', function FROM planning_profile WHERE user_id = %s
UNION ALL SELECT 'n', CAST(COUNT(*) AS TEXT) FROM planning_notification n
  LEFT JOIN planning_comment c ON c.id = n.comment_id
  LEFT JOIN dependencies_dependency d ON d.id = n.dependency_id
  WHERE n.recipient_id = %s AND n.read_at IS NULL
    AND c.removal_id IS NULL AND d.removal_id IS NULL
"""
# On PostgreSQL, whose triggers move it on every change to a cycle (planning migration 0010).
_DIRECTORY = """
UNION ALL SELECT 'v', CAST(value AS TEXT) FROM planning_pagerevision WHERE scope = 'directory'
"""


def actor_for(request: HttpRequest) -> Actor:
    actor = getattr(request, "_throughline_actor", None)
    if actor is None or actor.user is not request.user:
        found: dict[str, list[str]] = {
            "g": [],
            "m": [],
            "d": [],
            "p": [],
            "n": [],
            "f": [],
            "v": [],
        }
        if request.user.is_authenticated:
            sql = _RELATIONS + (_DIRECTORY if connection.vendor == "postgresql" else "")
            with connection.cursor() as cursor:
                cursor.execute(sql, [request.user.pk] * 6)
                for kind, value in cursor.fetchall():
                    found[kind].append(value)
        actor = Actor(
            user=request.user,
            groups=frozenset(found["g"]),
            display_name=found["p"][0] if found["p"] else "",
            unread_notifications=int(found["n"][0]) if found["n"] else 0,
            directory=int(found["v"][0]) if found["v"] else None,
        )
        actor.__dict__["member_of"] = frozenset(int(v) for v in found["m"])
        actor.__dict__["dri_of"] = frozenset(int(v) for v in found["d"])
        actor.__dict__["functions"] = frozenset(function_name(v) for v in found["f"]) - {""}
        request._throughline_actor = actor
    return actor


def can_edit_journeys(actor: Actor) -> bool:
    return actor.is_leadership


def can_create_squad(actor: Actor) -> bool:
    return actor.is_leadership


def can_edit_plan(actor: Actor, squad) -> bool:
    return actor.is_admin or squad.pk in actor.member_of


def can_manage_squad(actor: Actor, squad) -> bool:
    """Membership, the DRI and the OKR: the DRI, leadership and administrators."""
    return actor.is_leadership or squad.pk in actor.dri_of


def can_check_in(actor: Actor, squad) -> bool:
    return can_edit_plan(actor, squad)


def can_comment_plan(actor: Actor, squad) -> bool:
    """Comment on a plan's sections and initiatives: everyone who reads it. Leadership and
    other squads giving feedback is the point of a shared plan."""
    return actor.user.is_authenticated and actor.user.is_active


def can_restore_plan_part(actor: Actor, squad, kind: str, obj=None) -> bool:
    """Put back an earlier version from the plan's history: whoever may edit that part."""
    if kind == "key_result":
        return can_manage_squad(actor, squad)
    if kind == "dependency":
        return obj is not None and can_edit_dependency(actor, obj)
    return can_edit_plan(actor, squad)


def can_edit_dependency(actor: Actor, dep) -> bool:
    """What is needed, by when: the needing squad's members (and operations)."""
    return actor.is_operations or dep.needer_squad_id() in actor.member_of


def can_respond_dependency(actor: Actor, dep) -> bool:
    """Accept, decline, at risk, done: operations, and the provider side: the members of the
    providing squad; for a function, the owner while they are of that function. Being named
    owner is not enough on its own: an owner who is not (or no longer) on the provider side
    does not answer, so the needing side cannot accept what it asked for itself. Nobody
    answers for a provider someone removed."""
    if dep.provider_removed():
        return False  # the squad or initiative it asks was removed: nobody answers for it
    if actor.is_operations:
        return True
    if dep.provider_squad_id() is None and dep.owner_id != actor.user.pk:
        return False
    return dep.is_provider_side(squad_ids=actor.member_of, functions=actor.functions)


def can_triage_findings(actor: Actor) -> bool:
    return actor.is_operations or actor.is_leadership


DRAFT_RESTRICTED = (
    "This plan is a draft, and this cycle keeps drafts to the squad's members, leadership "
    "and operations until the DRI approves the plan."
)


def plan_is_restricted(squad) -> bool:
    """A draft (no approval yet) in a cycle that keeps drafts to those working on them."""
    if not squad.cycle.restrict_drafts:
        return False
    return not squad.has_approved_plan()


def can_read_plan(actor: Actor, squad) -> bool:
    """Everyone signed in reads the company's plans, except a restricted draft (above)."""
    if actor.is_leadership or actor.is_operations or squad.pk in actor.member_of:
        return True
    return not plan_is_restricted(squad)


def readers_of_plan(squad, people):
    """Those of `people` (a user queryset) who may read this squad's plan (can_read_plan)."""
    if not plan_is_restricted(squad):
        return people
    return people.filter(
        Q(is_superuser=True)
        | Q(groups__name__in=[LEADERSHIP, OPERATIONS])
        | Q(memberships__squad=squad)
    ).distinct()


def readable_initiatives(actor: Actor, queryset):
    """The initiatives whose plans this person may read (see can_read_plan)."""
    return readable_plan_parts(actor, queryset)


def readable_plan_parts(actor: Actor, queryset):
    """The rows of `queryset` (initiatives, comments: anything with a `squad`) in plans this
    person may read (see can_read_plan), scoped in the database."""
    if actor.is_leadership or actor.is_operations:
        return queryset
    # A squad without a plan row has no approval either (the join finds no row).
    hidden = Q(squad__cycle__restrict_drafts=True) & ~Q(squad__plan__approved_at__isnull=False)
    return queryset.exclude(hidden & ~Q(squad_id__in=actor.member_of))


def unreadable_plans(actor: Actor, squads):
    """Those of `squads` (a squad queryset) whose plans this person may not read
    (can_read_plan): restricted drafts of squads they are not in. The squads themselves
    stay public; what their plans hold (initiatives, dates) does not."""
    if actor.is_leadership or actor.is_operations:
        return squads.none()
    return (
        squads.filter(cycle__restrict_drafts=True)
        .exclude(plan__approved_at__isnull=False)
        .exclude(pk__in=actor.member_of)
    )


def can_approve_plan(actor: Actor, squad) -> bool:
    """Approve the plan, or return it to draft: the squad's DRI (and administrators)."""
    return actor.is_admin or squad.pk in actor.dri_of


def can_edit_cycle(actor: Actor) -> bool:
    """A cycle's settings (whether drafts are restricted): leadership."""
    return actor.is_leadership


def can_create_cycle(actor: Actor) -> bool:
    """Open a new cycle, from scratch or by carrying work forward: leadership."""
    return actor.is_leadership


def can_move_cycle(actor: Actor) -> bool:
    """Move a cycle through the season (draft, reconciling, committed, in flight, closed),
    committing to its plan included: leadership."""
    return actor.is_leadership


def can_create_dependency(actor: Actor, squad) -> bool:
    """Record what a squad (or one of its initiatives) needs: its members (and operations)."""
    return actor.is_operations or squad.pk in actor.member_of


def _dri_keys(actor: Actor) -> frozenset[str]:
    keys = getattr(actor, "_dri_keys", None)
    if keys is None:
        keys = frozenset(actor.user.squads_led.values_list("key", flat=True))
        actor._dri_keys = keys
    return keys


def can_triage_finding(actor: Actor, finding) -> bool:
    """Acknowledge, resolve or dismiss one finding: operations, leadership, and the DRIs of
    the squads it concerns (the review tells them about it, so they may answer it)."""
    if can_triage_findings(actor):
        return True
    squads = {s.split(":", 1)[1] for s in finding.subjects or () if s.startswith("squad:")}
    return bool(squads) and bool(squads & _dri_keys(actor))


def can_settle_overlap(actor: Actor, finding, squad_ids) -> bool:
    """ "One squad leads" on an overlap finding, changing the initiatives of `squad_ids`
    (those dropped or made to depend on the lead's): operations, leadership, and a DRI of a
    squad the finding concerns for their own squads' work only: a DRI may fold their squad's
    initiatives into another squad's, never drop or re-plan another squad's work."""
    if can_triage_findings(actor):
        return True
    return can_triage_finding(actor, finding) and set(squad_ids) <= actor.dri_of


def can_cover_stage(actor: Actor) -> bool:
    """Make a squad cover a journey stage: leadership, whose stages they are."""
    return actor.is_leadership


def can_set_squad_stages(actor: Actor, squad) -> bool:
    """Say which journey stages a squad covers, on the squad's page: its DRI and leadership."""
    return can_manage_squad(actor, squad)


def can_manage_people(actor: Actor) -> bool:
    """Invite people, deactivate and reactivate them, set their function and groups:
    leadership and administrators. Everyone signed in reads the directory."""
    return actor.is_leadership


def can_manage_person(actor: Actor, person) -> bool:
    """Manage this person in particular: an administrator's account is changed by
    administrators only, so leadership cannot lock out the people above it."""
    if not can_manage_people(actor):
        return False
    return actor.is_admin or not person.is_superuser


def can_edit_capacity(actor: Actor) -> bool:
    """Add and rename functions, set their capacity in a cycle: leadership."""
    return actor.is_leadership


def can_edit_goals(actor: Actor) -> bool:
    """Create, edit, reorder, remove and restore the company's goals: leadership and
    administrators. Everyone signed in reads them."""
    return actor.is_leadership


def can_edit_segments(actor: Actor) -> bool:
    """Create, rename, describe and delete customer segments: leadership, as the journeys
    that name them."""
    return can_edit_journeys(actor)


def can_record_milestone_reading(actor: Actor, segment) -> bool:
    """Record how a segment's customers are doing at its milestones (a check-in, a CSV
    upload, the API): leadership, operations, the segment's success owner, administrators."""
    if actor.is_leadership or actor.is_operations:
        return True
    return segment.success_owner_id is not None and segment.success_owner_id == actor.user.pk


def can_run_review(actor: Actor) -> bool:
    """Run the review now, outside its schedule: whoever triages findings."""
    return can_triage_findings(actor)


def can_remove_squad(actor: Actor) -> bool:
    """Remove a squad (and restore it): leadership, who form squads."""
    return can_create_squad(actor)


def can_edit_comment(actor: Actor, author_id: int | None) -> bool:
    """Change a comment's text: its author alone, whose words they are (moderators remove,
    they do not reword)."""
    return author_id is not None and author_id == actor.user.pk and actor.user.is_active


def can_resolve_comments(actor: Actor, squad) -> bool:
    """Resolve a thread on a plan, or open it again: the squad's members, whose plan it is
    (and administrators)."""
    return can_edit_plan(actor, squad)


def can_moderate_comments(actor: Actor) -> bool:
    """Remove anyone's comment: administrators, who moderate comments (in the admin too)."""
    return actor.is_admin


def can_remove_comment(actor: Actor, author_id: int | None) -> bool:
    """Remove a comment (and restore it): its author, and whoever moderates comments."""
    return can_moderate_comments(actor) or (author_id is not None and author_id == actor.user.pk)


@dataclass(frozen=True)
class _SquadOf:
    """What the rules above read of a squad, or of a dependency's needing squad: its id."""

    pk: int | None

    def needer_squad_id(self) -> int | None:
        return self.pk


def can_restore(actor: Actor, removal) -> bool:
    """Restore what a removal took away: whoever may remove that kind of thing there now, by
    the same rules (a key result: who manages the squad; a dependency: who edits it)."""
    kind, squad = removal.kind, _SquadOf(removal.squad_pk)
    if kind in ("journey", "stage"):
        return can_edit_journeys(actor)
    if kind == "squad":
        return can_remove_squad(actor)
    if kind == "initiative":
        return squad.pk is not None and can_edit_plan(actor, squad)
    if kind == "key_result":
        return squad.pk is not None and can_manage_squad(actor, squad)
    if kind == "dependency":
        return squad.pk is not None and can_edit_dependency(actor, squad)
    if kind == "comment":
        return can_remove_comment(actor, removal.owner_id)
    if kind == "goal":
        return can_edit_goals(actor)
    return False


def restorable_removals(actor: Actor, queryset):
    """The removals of `queryset` this person may restore (can_restore), chosen in the
    database: the Recently removed page lists these."""
    if actor.is_admin:
        return queryset
    allowed = Q(kind="initiative", squad_pk__in=actor.member_of)
    allowed |= Q(kind="key_result", squad_pk__in=actor.dri_of)
    allowed |= Q(kind="comment", owner_id=actor.user.pk)
    if actor.is_leadership:
        allowed |= Q(kind__in=["journey", "stage", "squad", "key_result", "goal"])
    if actor.is_operations:
        allowed |= Q(kind="dependency")
    else:
        allowed |= Q(kind="dependency", squad_pk__in=actor.member_of)
    return queryset.filter(allowed)


# Outgoing webhooks and chat channels (docs/webhooks.md). Subscriptions are duck-typed here
# (the webhooks app sits above): `squad_id` and `format`.
CHAT_FORMATS = ("slack", "teams")


def can_manage_webhooks(actor: Actor) -> bool:
    """Every subscription, of any format, for the whole company or one squad: operations,
    leadership and administrators."""
    return actor.is_operations or actor.is_leadership


def can_open_webhooks(actor: Actor) -> bool:
    """The webhooks settings page: who manages webhooks, and squads' DRIs (their channels)."""
    return can_manage_webhooks(actor) or bool(actor.dri_of)


def can_manage_subscription(actor: Actor, subscription) -> bool:
    """See, change, delete, rotate the secret of, read the log of and redeliver one
    subscription: who manages webhooks; a squad's DRI for a Slack or Teams channel of their
    own squad (set up or asked for)."""
    if can_manage_webhooks(actor):
        return True
    return subscription.format in CHAT_FORMATS and subscription.squad_id in actor.dri_of


def manageable_subscriptions(actor: Actor, queryset):
    """The subscriptions of `queryset` this person manages (can_manage_subscription)."""
    if can_manage_webhooks(actor):
        return queryset
    return queryset.filter(format__in=CHAT_FORMATS, squad_id__in=actor.dri_of)


def squad_flags(request: HttpRequest, squad) -> dict:
    """What the squad's pages may offer this person, for their templates."""
    actor = actor_for(request)
    return {
        "can_edit": can_edit_plan(actor, squad),
        "can_check_in": can_check_in(actor, squad),
        "can_manage": can_manage_squad(actor, squad),
        "can_comment": can_comment_plan(actor, squad),
        "can_moderate": can_moderate_comments(actor),
        "can_resolve": can_resolve_comments(actor, squad),
    }
