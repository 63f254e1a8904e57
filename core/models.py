from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from core.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator
from core.search import SearchFields, matching


class ProfileQuerySet(models.QuerySet):
    def search(self, query) -> ProfileQuerySet:
        """The people whose name, title or function match `query`, best first
        (core.search.matching); accounts that are switched off are left out."""
        active = self.filter(user__is_active=True).select_related("user")
        return matching(active, Profile.SEARCHED, query)


class Profile(models.Model):
    """What the planning file says about a person beyond their user account."""

    # What the search page reads, by weight (core.search; indexed by core/migrations/0002).
    SEARCHED = SearchFields(a=("display_name",), b=("title", "function"))

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    function = models.CharField(max_length=100, blank=True)

    objects = ProfileQuerySet.as_manager()

    class Meta:
        db_table = "planning_profile"
        ordering = ["user_id"]

    def __str__(self) -> str:
        return self.display_name


CYCLE_STATES = ["draft", "reconciling", "committed", "in_flight", "closed"]
# The season's moves (docs/season.md): one step forward at a time, and back one step where
# that makes sense, with a reason. Committing is also gated by the readiness check
# (planning/season/).
CYCLE_FORWARD = {
    "draft": "reconciling",
    "reconciling": "committed",
    "committed": "in_flight",
    "in_flight": "closed",
}
CYCLE_BACK = {"reconciling": "draft", "committed": "reconciling", "closed": "in_flight"}
# The states from which leadership opens the next cycle with the unfinished work.
CARRY_FORWARD_FROM = ("committed", "in_flight", "closed")


class Cycle(models.Model):
    """A planning cycle: a year, a quarter or a sprint. Squads, OKRs and plans belong to one.

    Its state is where the season stands: squads draft their plans, operations reconciles
    them, leadership commits to them (a baseline is kept), the work is in flight, and the
    cycle closes."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RECONCILING = "reconciling", "Reconciling"
        COMMITTED = "committed", "Committed"
        IN_FLIGHT = "in_flight", "In flight"
        CLOSED = "closed", "Closed"

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, unique=True, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    starts = models.DateField()
    ends = models.DateField()
    restrict_drafts = models.BooleanField(
        default=False,
        help_text=(
            "A plan its DRI has not approved is read only by its squad's members, "
            "leadership and operations."
        ),
    )
    # A database default too: rows written without it (SQL by hand, code from before the
    # season) are drafts.
    state = models.CharField(
        max_length=12,
        choices=State.choices,
        default=State.DRAFT,
        db_default=State.DRAFT,
        help_text="Moved by leadership on the season page, never here: each move is recorded.",
    )

    class Meta:
        db_table = "planning_cycle"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="cycle_key_shape"),
            models.CheckConstraint(
                condition=Q(starts__lte=F("ends")), name="cycle_starts_before_ends"
            ),
            models.CheckConstraint(condition=Q(state__in=CYCLE_STATES), name="cycle_state_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def is_open(self, today: dt.date) -> bool:
        return today <= self.ends

    def next_state(self) -> str | None:
        """The state a forward move leads to, or None once closed."""
        return CYCLE_FORWARD.get(self.state)

    def previous_state(self) -> str | None:
        """The state a move back (with a reason) leads to, or None where there is none."""
        return CYCLE_BACK.get(self.state)

    def may_carry_forward(self) -> bool:
        """Whether leadership may open the next cycle from this one's unfinished work."""
        return self.state in CARRY_FORWARD_FROM


class Capacity(models.Model):
    """How many full-time people a function can staff in a cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="capacities")
    function = models.CharField(max_length=100)
    headcount = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        db_table = "planning_capacity"
        verbose_name_plural = "capacities"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "function"], name="capacity_once_per_function"
            ),
            models.CheckConstraint(condition=Q(headcount__gte=0), name="capacity_not_negative"),
            models.CheckConstraint(condition=~Q(function=""), name="capacity_has_function"),
        ]

    def __str__(self) -> str:
        return f"{self.function} in {self.cycle}: {self.headcount}"


class PageRevision(models.Model):
    """How far a set of pages' data has moved: the key under which their rendering is cached.

    Written only by database triggers (planning's migrations 0010 and 0019, PostgreSQL):
    every statement that inserts, changes or deletes rows a page shows moves the value of
    that page's scope, in the same transaction, whatever wrote it (a form, a bulk update,
    an import, the admin, SQL by hand). Scopes: `board` (dependencies and the initiatives
    they name), `directory` (squads, people's names, journeys, cycles, capacity, the
    baselines kept at commit) and `squad:<id>` (one squad's plan, initiatives, key
    results, comments, members and the dependencies it needs or provides). Values come
    from one sequence, so a value is never used twice, not even after a rollback or after
    the table is emptied. See core/pagecache.py.
    """

    scope = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        db_table = "planning_pagerevision"
        ordering = ["scope"]

    def __str__(self) -> str:
        return f"{self.scope} at {self.value}"


class Invitation(models.Model):
    """An email address asked to join: a one-time sign-up link that lasts a few days.

    The link's token is never stored, only its SHA-256 digest: whoever reads the database
    (or a backup) cannot sign up with it. Sending it again gives a new token and a new
    expiry, so the older link stops working. Once used, the invitation names the account
    it made and no link works for it again.
    """

    email = models.EmailField(max_length=254)
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation",
    )

    class Meta:
        ordering = ["-sent_at", "id"]
        constraints = [
            # One open invitation per address, whatever its letters' case.
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(accepted_at__isnull=True),
                name="invitation_open_once_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    def is_expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None


class Removal(models.Model):
    """One removal a person made: what they removed, what it took with it, and how to put
    everything back (core/removal.py, planning/removals.py).

    The removed row, and the rows removed with it (a squad's initiatives, a journey's stages),
    point here through their `removal` column; the default managers leave them out, so they
    disappear from every page, export and review at once. Restoring clears those columns and
    undoes what `details` records; after REMOVAL_KEEP_DAYS the rows may be deleted for good
    (`purged_at`). The row itself stays as the record of who removed what, and who restored it.
    """

    class Kind(models.TextChoices):
        JOURNEY = "journey", "Journey"
        STAGE = "stage", "Stage"
        SQUAD = "squad", "Squad"
        INITIATIVE = "initiative", "Initiative"
        KEY_RESULT = "key_result", "Key result"
        DEPENDENCY = "dependency", "Dependency"
        COMMENT = "comment", "Comment"
        GOAL = "goal", "Goal"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    target_id = models.BigIntegerField(help_text="The primary key of the row removed.")
    label = models.CharField(max_length=300, help_text="What was removed, as people read it.")
    # Who may restore it is decided from these (core.access.can_restore): the squad it
    # belonged to (a plain id: this layer sits below the squads app) and a comment's author.
    squad_pk = models.BigIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A comment's author.",
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField()
    # What the removal changed besides marking rows, so restoring can undo exactly that, and
    # what it took with it, in words (planning/removals.py).
    details = models.JSONField(default=dict, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-removed_at", "-id"]
        indexes = [models.Index(fields=["removed_at"], name="removal_removed_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "journey",
                        "stage",
                        "squad",
                        "initiative",
                        "key_result",
                        "dependency",
                        "comment",
                        "goal",
                    ]
                ),
                name="removal_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(restored_at__isnull=True) | Q(purged_at__isnull=True),
                name="removal_restored_or_purged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}"

    @property
    def is_waiting(self) -> bool:
        """Still removed, and still restorable."""
        return self.restored_at is None and self.purged_at is None


class CompanyAccount(models.Model):
    """A person's account at the company's OpenID Connect provider, linked at their first
    company sign-in (core/single_sign_on.py). Later sign-ins find the person by it, not by
    email, so a changed address at the provider keeps the link, and another account there
    that shows the same address is refused rather than let in as this person. Deleting the
    link (in the admin) lets the next sign-in link afresh."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_account"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, help_text="The address the first sign-in showed.")
    linked_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user_id"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="company_account_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class RecoveryCode(models.Model):
    """One of a person's two-factor recovery codes (core/two_factor.py): shown once when made,
    stored only as its SHA-256 digest, and good for one sign-in. Making new ones deletes the
    old; turning two-factor sign-in off deletes them all."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_once"),
        ]

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id}"
