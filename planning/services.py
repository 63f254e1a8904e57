"""State changes for cycles, plans, initiatives and the review."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core.access import readers_of_plan
from core.models import Cycle
from core.people import display_name
from planning.finding_events import publish_findings
from planning.models import (
    REVIEW_ABANDONED_ERROR,
    Finding,
    FindingEvent,
    Notification,
    NotificationPreference,
    OverlapVerdict,
    ReviewRun,
    StagedImport,
)
from planning.review import Acknowledged, FindingData, SubjectStates, review, worsened
from planning.snapshot import Snapshot, snapshot_for_cycle
from squads.cowriting import mentioned_usernames
from squads.models import Squad

logger = logging.getLogger(__name__)

# First key of pg_advisory_xact_lock(key1, key2); the cycle's id is the second.
REVIEW_LOCK_NAMESPACE = 0x7265  # "re"
_BATCH = 1000
_LIVE = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)
# subjects_state last: a dismissed finding is compared on it alone.
_CONTENT_FIELDS = [
    "kind",
    "severity",
    "subjects",
    "message",
    "score",
    "measure",
    "facts",
    "subjects_state",
]
_STATE_FIELDS = [
    "state",
    "dismissed_reason",
    "state_changed_by",
    "state_changed_at",
    "reopened_note",
]
_ACK_FIELDS = [
    "acknowledged_severity",
    "acknowledged_score",
    "acknowledged_measure",
    "acknowledged_facts",
]


# --- running the review ------------------------------------------------------------------


def review_run(*, cycle: Cycle, today: dt.date | None = None, trigger: str) -> ReviewRun:
    """Run the review over one cycle and store what it found, all in one transaction.

    Runs for the same cycle queue behind each other (review_lock). If anything fails, the
    stored findings stay exactly as the previous run left them and the run is marked failed.
    The returned run carries `findings`: every FindingData that holds now, dismissed or not.
    """
    today = today or timezone.localdate()
    review_runs_expire(cycle=cycle)
    run = ReviewRun.objects.create(
        cycle=cycle, trigger=trigger, today=today, lease_expires_at=_lease_end()
    )
    try:
        with _ReviewLease(run.pk), transaction.atomic():
            review_lock(cycle)
            cycle.refresh_from_db()
            # The findings' states before the plan they judge: a finding someone settles
            # while the review judges (its plan read before they acted) keeps their word
            # instead of coming back as found again.
            before = findings_stored(cycle)
            snapshot = snapshot_for_cycle(cycle)
            findings = review(snapshot, today)
            stored = findings_store(
                cycle=cycle, snapshot=snapshot, findings=findings, existing=before
            )
            if settings.REVIEW_PAUSE_SECONDS:
                _pause_before_commit(cycle)
            # From here to the commit the run's row is locked: renewing skips it meanwhile,
            # and so does review_runs_expire(), the lock itself showing the run is alive.
            run.status = ReviewRun.Status.DONE
            run.finished_at = timezone.now()
            run.findings_open = stored.open
            run.findings_new = stored.new
            run.findings_resolved = stored.resolved
            run.save(
                update_fields=[
                    "status",
                    "finished_at",
                    "findings_open",
                    "findings_new",
                    "findings_resolved",
                ]
            )
    except Exception as exc:
        logger.exception("The review of cycle %s failed; its findings are unchanged", cycle.pk)
        run.status = ReviewRun.Status.FAILED
        run.finished_at = timezone.now()
        run.error = f"{type(exc).__name__}: {exc}"
        run.save(update_fields=["status", "finished_at", "error"])
        raise
    run.findings = findings
    return run


def review_runs_expire(*, cycle: Cycle | None = None, now: dt.datetime | None = None) -> int:
    """Mark failed the runs whose worker went away (their lease expired unrenewed), so the
    findings page says so and offers to run the review again. Returns how many.

    A run whose row is locked is skipped: its transaction is open, so its worker is alive.
    """
    now = now or timezone.now()
    abandoned = ReviewRun.objects.abandoned(now)
    if cycle is not None:
        abandoned = abandoned.filter(cycle=cycle)
    with transaction.atomic():
        ids = list(
            abandoned.select_for_update(skip_locked=True).values_list("pk", flat=True)[:1000]
        )
        if not ids:
            return 0
        expired = ReviewRun.objects.abandoned(now).filter(pk__in=ids)
        count = expired.update(
            status=ReviewRun.Status.FAILED, finished_at=now, error=REVIEW_ABANDONED_ERROR
        )
    logger.warning("Marked %s review run(s) failed: their worker went away", count)
    return count


def review_run_renew(*, run_id: int) -> bool:
    """Extend a running run's lease. False if it is no longer running (or is committing)."""
    with transaction.atomic():
        running = ReviewRun.objects.filter(pk=run_id, status=ReviewRun.Status.RUNNING)
        if not list(running.select_for_update(skip_locked=True).values_list("pk", flat=True)):
            return False
        return bool(running.update(lease_expires_at=_lease_end()))


def _lease_end() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.REVIEW_LEASE_SECONDS)


class _ReviewLease:
    """Renews a run's lease from a thread of its own (with a database connection of its
    own) for as long as the review runs, so the run stays "running" however long it takes,
    and expires soon after its process dies.

    PostgreSQL only: on SQLite the review's write transaction would block the renewal, so
    there a run keeps the lease it started with (local development, small reviews).
    """

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _ReviewLease:
        if connection.vendor == "postgresql":
            self.thread = threading.Thread(
                target=self._renew, name=f"review-lease-{self.run_id}", daemon=True
            )
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()

    def _renew(self) -> None:
        interval = settings.REVIEW_LEASE_SECONDS / 4
        try:
            while not self.stopped.wait(interval):
                try:
                    if not review_run_renew(run_id=self.run_id):
                        return
                except DatabaseError:
                    logger.warning("Could not renew the lease of review run %s", self.run_id)
        finally:
            connection.close()  # this thread's own


def _pause_before_commit(cycle: Cycle) -> None:
    """REVIEW_PAUSE_SECONDS, for fault-tolerance tests only (0, so never, by default): hold
    the finished review, its findings written but not committed, so that a test can stop
    the worker at exactly this point and see that nothing of the run survives."""
    seconds = settings.REVIEW_PAUSE_SECONDS
    logger.warning("The review of cycle %s pauses %ss before it commits", cycle.pk, seconds)
    time.sleep(seconds)


def review_lock(cycle: Cycle) -> None:
    """Hold the cycle's review lock until the current transaction ends.

    PostgreSQL: a transaction-level advisory lock, so a review never blocks edits to the
    cycle row itself. SQLite runs write transactions one at a time (IMMEDIATE mode).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("review_lock() must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [REVIEW_LOCK_NAMESPACE, cycle.pk % 2**31],
            )
    else:
        list(Cycle.objects.select_for_update().filter(pk=cycle.pk).values_list("pk"))


@dataclass
class StoreOutcome:
    open: int = 0
    new: int = 0  # findings that opened: new, back after being resolved or dismissed, or worse
    opened: list[Finding] = field(default_factory=list)  # those of them notifying may concern
    updated: int = 0
    resolved: int = 0
    worse: int = 0  # of `new`: acknowledged findings re-opened because they got worse


_CONTENT = slice(4, 4 + len(_CONTENT_FIELDS))
_ACKNOWLEDGED = slice(4 + len(_CONTENT_FIELDS), None)
_SUBJECTS = _CONTENT_FIELDS.index("subjects")


class _Stored:
    """A stored finding as findings_store reads it: one row of values_list(), read lazily,
    since a large cycle has tens of thousands of them and most need only their state."""

    __slots__ = ("row",)

    def __init__(self, row: tuple) -> None:
        self.row = row

    pk = property(lambda self: self.row[0])
    identity = property(lambda self: self.row[1])
    state = property(lambda self: self.row[2])
    rule = property(lambda self: self.row[3])

    @property
    def content(self) -> list:
        return list(self.row[_CONTENT])

    @property
    def subjects_state(self) -> str:
        return self.row[_CONTENT][-1]

    def initiatives(self) -> frozenset[str]:
        subjects = self.row[_CONTENT][_SUBJECTS] or []
        return frozenset(s for s in subjects if s.startswith("initiative:"))

    @property
    def acknowledged(self) -> Acknowledged:
        severity, score, measure, facts = self.row[_ACKNOWLEDGED]
        return Acknowledged(
            severity=severity,
            score=score,
            measure=measure,
            facts=tuple(facts) if facts is not None else None,
            initiatives=len(self.initiatives()),
        )


def findings_stored(cycle: Cycle) -> dict[str, _Stored]:
    """The cycle's stored findings as findings_store compares them, by identity."""
    return {
        row[1]: _Stored(row)
        for row in Finding.objects.filter(cycle=cycle).values_list(
            "pk", "identity", "state", "rule", *_CONTENT_FIELDS, *_ACK_FIELDS
        )
    }


def findings_store(
    *,
    cycle: Cycle,
    snapshot: Snapshot,
    findings: Sequence[FindingData],
    now: dt.datetime | None = None,
    existing: dict[str, _Stored] | None = None,
) -> StoreOutcome:
    """Make the stored findings of a cycle agree with what the review found now.

    One row per identity (rule + identifying subjects), so rerunning never duplicates.
    Open and acknowledged findings no longer found are resolved; resolved ones found again
    reopen; a dismissed one stays dismissed while its subjects' facts are unchanged. An
    acknowledged one that got worse than it was when acknowledged (review.worsened) opens
    again with a note saying why; so does an acknowledged overlap that grew into a larger
    group of initiatives, which carries on as that group. New high-severity findings, and
    those that opened again, notify the DRIs of the squads concerned. Call it inside a
    transaction that holds review_lock(cycle).

    `existing` (findings_stored) is what was stored when the review began, read before
    the snapshot: a finding someone settles while the review runs is live in it, so its
    state is left as they set it (and one is resolved as gone only if it is still live
    when this writes). Read after the snapshot, their decision would look older than the
    plan the review judged, and the review would reopen the finding they had just settled.
    """
    now = now or timezone.now()
    states = SubjectStates(snapshot)
    if existing is None:
        existing = findings_stored(cycle)
    outcome = StoreOutcome()
    create: list[tuple[FindingData, dict]] = []
    reopen: list[Finding] = []
    worse: list[Finding] = []
    refresh: list[Finding] = []
    dismissed_seen: list[int] = []
    for found in findings:
        identity = found.identity
        digest = states.digest(found)
        values = _content(found, digest)
        row = existing.get(identity)
        if row is None:
            create.append(
                (
                    found,
                    {
                        "cycle_id": cycle.pk,
                        "rule": found.rule,
                        "identity": identity,
                        "state": Finding.State.OPEN,
                        "dismissed_reason": "",
                        "reopened_note": "",
                        "first_seen": now,
                        "last_seen": now,
                        **values,
                    },
                )
            )
            continue
        if row.state == Finding.State.DISMISSED and digest == row.subjects_state:
            dismissed_seen.append(row.pk)
            continue
        if row.state in (Finding.State.RESOLVED, Finding.State.DISMISSED):
            reopen.append(_opened(row.pk, cycle, found, values, now=now, note=""))
        elif row.state == Finding.State.ACKNOWLEDGED and (
            note := worsened(row.acknowledged, found)
        ):
            worse.append(_opened(row.pk, cycle, found, values, now=now, note=note))
        elif row.content != list(values.values()):
            refresh.append(Finding(pk=row.pk, cycle=cycle, rule=found.rule, **values))

    current = {f.identity for f in findings}
    # An acknowledged overlap no longer found, whose initiatives are all in a larger group
    # found now: the same overlap, grown. It carries on as the larger group, open again.
    grown = _grown_overlaps(existing, current, [found for found, _row in create])
    for found, row in grown:
        values = _content(found, states.digest(found))
        note = worsened(row.acknowledged, found)
        worse.append(_opened(row.pk, cycle, found, values, now=now, note=note))
    grown_pks = {row.pk for _found, row in grown}
    grown_identities = {found.identity for found, _row in grown}
    create = [(found, row) for found, row in create if found.identity not in grown_identities]
    gone = [
        row.pk
        for identity, row in existing.items()
        if identity not in current and row.state in _LIVE and row.pk not in grown_pks
    ]

    created = _insert(Finding, [row for _found, row in create], returning="identity")
    Finding.objects.bulk_update(reopen, _CONTENT_FIELDS + _STATE_FIELDS, batch_size=_BATCH)
    Finding.objects.bulk_update(
        worse, [*_CONTENT_FIELDS, *_STATE_FIELDS, "identity"], batch_size=_BATCH
    )
    Finding.objects.bulk_update(refresh, _CONTENT_FIELDS, batch_size=_BATCH)
    still_live = []
    for start in range(0, len(gone), _BATCH):
        # Those someone settled meanwhile keep their state, and their timeline its end.
        batch = list(
            Finding.objects.select_for_update()
            .filter(pk__in=gone[start : start + _BATCH], state__in=_LIVE)
            .values_list("pk", flat=True)
        )
        Finding.objects.filter(pk__in=batch).update(
            state=Finding.State.RESOLVED, state_changed_by=None, state_changed_at=now
        )
        still_live += batch
    gone = still_live
    Finding.objects.filter(cycle=cycle, state__in=_LIVE, last_seen__lt=now).update(last_seen=now)
    _insert(
        FindingEvent,
        [_review_event(pk, FindingEvent.Action.GONE, now) for pk in gone]
        + [_review_event(f.pk, FindingEvent.Action.BACK, now) for f in reopen]
        + [
            _review_event(f.pk, FindingEvent.Action.WORSE, now, summary=f.reopened_note)
            for f in worse
        ],
    )
    for start in range(0, len(dismissed_seen), _BATCH):
        Finding.objects.filter(pk__in=dismissed_seen[start : start + _BATCH]).update(last_seen=now)

    # Only what notifying needs: the new findings' rows, without loading them back.
    outcome.opened = (
        reopen
        + worse
        + [
            Finding(pk=created[row["identity"]], **row)
            for _found, row in create
            if row["severity"] == "high"
        ]
    )
    outcome.new = len(create) + len(reopen) + len(worse)
    outcome.worse = len(worse)
    outcome.updated = len(refresh)
    outcome.resolved = len(gone)
    outcome.open = Finding.objects.filter(cycle=cycle, state=Finding.State.OPEN).count()
    notifications_for_findings(cycle=cycle, findings=outcome.opened)
    publish_findings(
        cycle=cycle,
        opened=[f.pk for f in reopen + worse] + [created[row["identity"]] for _f, row in create],
        resolved=gone,
    )
    return outcome


def _review_event(finding_id: int, action: str, now: dt.datetime, summary: str = "") -> dict:
    """A line of a finding's timeline that the review itself writes."""
    return {
        "finding_id": finding_id,
        "action": action,
        "by_id": None,
        "at": now,
        "summary": summary,
    }


def _content(found: FindingData, digest: str) -> dict:
    """A finding's content fields as stored, in the order of _CONTENT_FIELDS."""
    return {
        "kind": found.kind,
        "severity": found.severity,
        "subjects": list(found.subjects),
        "message": found.message,
        "score": found.score,
        "measure": found.measure,
        "facts": list(found.facts),
        "subjects_state": digest,
    }


def _opened(pk: int, cycle: Cycle, found: FindingData, values: dict, *, now, note: str):
    """The row of a stored finding that opens again, with what it is now."""
    return Finding(
        pk=pk,
        cycle=cycle,
        rule=found.rule,
        identity=found.identity,
        state=Finding.State.OPEN,
        dismissed_reason="",
        state_changed_by=None,
        state_changed_at=now,
        reopened_note=note,
        **values,
    )


def _grown_overlaps(
    existing: dict[str, _Stored], current: set[str], new: list[FindingData]
) -> list[tuple[FindingData, _Stored]]:
    """Pairs (new overlap group, acknowledged group it grew from)."""
    candidates = [
        row
        for identity, row in existing.items()
        if row.rule == "similar_initiatives"
        and row.state == Finding.State.ACKNOWLEDGED
        and identity not in current
    ]
    grown = []
    for found in new:
        if found.rule != "similar_initiatives" or not candidates:
            continue
        initiatives = frozenset(s for s in found.subjects if s.startswith("initiative:"))
        within = [row for row in candidates if row.initiatives() < initiatives]
        if not within:
            continue
        best = max(within, key=lambda row: (len(row.initiatives()), -row.pk))
        candidates.remove(best)
        grown.append((found, best))
    return grown


def _insert(model, rows: list[dict], *, returning: str | None = None) -> dict:
    """Insert many rows given as {field attname: value}; with `returning`, map it to pks.

    On PostgreSQL, one statement per 10,000 rows that reads them from a JSON array on the
    server: a first review of a large cycle stores tens of thousands of findings, and
    bulk_create's per-value work in Python was most of its cost.
    """
    if not rows:
        return {}
    if connection.vendor != "postgresql":
        made = model.objects.bulk_create([model(**row) for row in rows], batch_size=_BATCH)
        return {getattr(obj, returning): obj.pk for obj in made} if returning else {}
    meta, quote = model._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in rows[0]]
    columns = ", ".join(quote(f.column) for f in fields)
    record = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {columns} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({record})"
    )
    if returning:
        sql += f" RETURNING {quote(meta.get_field(returning).column)}, {quote(meta.pk.column)}"
    found: dict = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 10 * _BATCH):
            batch = rows[start : start + 10 * _BATCH]
            payload = [
                {f.column: row[name] for name, f in zip(row, fields, strict=True)} for row in batch
            ]
            cursor.execute(sql, [json.dumps(payload, default=_to_json)])
            if returning:
                found.update(cursor.fetchall())
    return found


def _to_json(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()  # full precision, unlike DjangoJSONEncoder
    raise TypeError(f"Cannot store {type(value).__name__} through JSON")


# --- notifications -----------------------------------------------------------------------


def mentions_notify(
    *, comment, by, where: str, url: str, only: Collection[str] | None = None
) -> int:
    """Tell whoever a comment @mentions, with a quote of it: only people who may read the
    plan (core.access.readers_of_plan), so a draft the cycle keeps to the squad is not
    quoted to anyone else. `where` names the thread ("First 90 Days · Desired customer
    experience"), `url` is where the notification leads. `only`: the usernames to tell, of
    those mentioned (an edit tells only whom it names for the first time). The number told."""
    names = mentioned_usernames(comment.body)
    if only is not None:
        names = [name for name in names if name in only]
    if not names:
        return 0
    people = readers_of_plan(
        comment.squad,
        get_user_model().objects.filter(username__in=names, is_active=True).exclude(pk=by.pk),
    )
    body = comment.body
    excerpt = body if len(body) <= 140 else body[:139].rstrip() + "…"
    told = Notification.objects.bulk_create(
        Notification(
            recipient=person,
            kind=Notification.Kind.MENTION,
            comment=comment,
            url=url,
            message=f"{display_name(by)} mentioned you on {where}: “{excerpt}”",
        )
        for person in people
    )
    return len(told)


def _told(finding: Finding) -> str:
    """What a notification says of a finding: why it opened again, if it did, then what."""
    return (
        f"{finding.reopened_note} {finding.message}" if finding.reopened_note else finding.message
    )


def notifications_for_findings(*, cycle: Cycle, findings: Sequence[Finding]) -> int:
    """Tell the DRIs of the squads concerned about each high-severity finding, once each.

    In the app at once (in this transaction), by email after it commits.
    """
    high = [f for f in findings if f.severity == Finding.Severity.HIGH]
    if not high:
        return 0
    keys = {s.split(":", 1)[1] for f in high for s in f.subjects if s.startswith("squad:")}
    dri_of = dict(Squad.objects.filter(key__in=keys).values_list("key", "dri_id"))
    notes: list[dict] = []
    now = timezone.now()
    per_person: dict[int, list[Finding]] = defaultdict(list)
    for finding in high:
        recipients = {
            dri_of[s.split(":", 1)[1]]
            for s in finding.subjects
            if s.startswith("squad:") and s.split(":", 1)[1] in dri_of
        }
        for person_id in sorted(recipients):
            notes.append(
                {
                    "recipient_id": person_id,
                    "finding_id": finding.pk,
                    "message": _told(finding),
                    "created_at": now,
                }
            )
            per_person[person_id].append(finding)
    _insert(Notification, notes)
    emails = _emails(cycle, per_person)
    if emails:
        transaction.on_commit(lambda: emails_send(emails), robust=True)
    return len(notes)


def _emails(cycle: Cycle, per_person: dict[int, list[Finding]]) -> list[EmailMessage]:
    wanted = NotificationPreference.wants("immediate_high", per_person)
    users = get_user_model().objects.filter(pk__in=wanted).select_related("profile")
    emails = []
    for user in users:
        if not user.email:
            continue
        found = per_person[user.pk]
        profile = getattr(user, "profile", None)
        name = profile.display_name if profile else user.get_username()
        again = sum(1 for f in found if f.reopened_note)
        new = "new" if not again else "re-opened" if again == len(found) else "new or re-opened"
        if len(found) == 1:
            label = Finding.Kind(found[0].kind).label.lower()
            subject = f"{new.capitalize()} high-severity {label} in {cycle.name}"
            intro = f"The review of {cycle.name} found a {new} high-severity {label} that concerns"
        else:
            subject = f"{len(found)} {new} high-severity findings in {cycle.name}"
            intro = (
                f"The review of {cycle.name} found {len(found)} {new} high-severity findings "
                "that concern"
            )
        lines = [f"Hello {name},", "", f"{intro} a squad you are the DRI of:", ""]
        base = settings.THROUGHLINE_URL
        lines += [f"- {_told(f)}\n  {base}{reverse('finding', args=[f.pk])}" for f in found]
        lines += [
            "",
            "Acknowledge each one, or dismiss it with a reason, on the review's findings in "
            "Throughline. Findings resolve by themselves once the plan no longer has the "
            "problem.",
            "",
            f"Email settings: {base}{reverse('account')}",
        ]
        emails.append(
            EmailMessage(
                subject=subject,
                body="\n".join(lines),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
            )
        )
    return emails


def emails_send(emails: list[EmailMessage]) -> None:
    """Send these emails now; a failure is logged, never raised."""
    try:
        mailers.default.send_messages(emails)
    except Exception:
        # The notifications are stored in the app already; a mail outage must not fail the
        # review or the change that sent them.
        logger.exception("Could not send %s notification email(s)", len(emails))


# --- people changing a finding's state ---------------------------------------------------


def finding_event_record(
    *, finding: Finding, action: str, by, summary: str = "", at: dt.datetime | None = None
) -> FindingEvent:
    """Put one line on the finding's timeline: who did what, when (`by` None: the review)."""
    return FindingEvent.objects.create(
        finding=finding, action=action, by=by, summary=summary, at=at or timezone.now()
    )


def finding_acknowledge(*, finding: Finding, by) -> Finding:
    """Someone has seen it and is on it: it stays visible but no longer counts as new."""
    return _finding_change(finding, by=by, to=Finding.State.ACKNOWLEDGED, allowed=("open",))


def finding_dismiss(*, finding: Finding, by, reason: str) -> Finding:
    """Consciously accepted: hidden until its subjects change. A reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"dismissed_reason": "Say why this finding can be dismissed."})
    return _finding_change(
        finding,
        by=by,
        to=Finding.State.DISMISSED,
        allowed=("open", "acknowledged"),
        reason=reason,
    )


def finding_reopen(*, finding: Finding, by) -> Finding:
    """Undo an acknowledgement or a dismissal. Undoing "related, keep both" takes back the
    verdicts it recorded too: else the review, leaving those pairs out, would resolve the
    reopened finding at its next run as if nothing were there to decide."""
    with transaction.atomic():
        dismissed = finding.state == Finding.State.DISMISSED
        reopened = _finding_change(
            finding, by=by, to=Finding.State.OPEN, allowed=("acknowledged", "dismissed")
        )
        if dismissed:
            OverlapVerdict.objects.filter(finding=finding).delete()
    return reopened


_EVENT_FOR = {
    Finding.State.ACKNOWLEDGED: FindingEvent.Action.ACKNOWLEDGED,
    Finding.State.DISMISSED: FindingEvent.Action.DISMISSED,
    Finding.State.OPEN: FindingEvent.Action.REOPENED,
}


def _finding_change(finding: Finding, *, by, to: str, allowed: tuple[str, ...], reason=""):
    if finding.state not in allowed:
        raise ValidationError(
            f"A finding that is {finding.get_state_display().lower()} cannot be "
            f"{Finding.State(to).label.lower()}."
        )
    now = timezone.now()
    extra = {}
    if to == Finding.State.ACKNOWLEDGED:
        # What it is as it is acknowledged, from the row itself: the review re-opens it if
        # it gets worse than this.
        extra = {
            "acknowledged_severity": F("severity"),
            "acknowledged_message": F("message"),
            "acknowledged_score": F("score"),
            "acknowledged_measure": F("measure"),
            "acknowledged_facts": F("facts"),
        }
    # Compare-and-swap on the state: if someone (or the review) changed it meanwhile,
    # nothing is written and they are told. A person's change answers the re-open note.
    with transaction.atomic():
        changed = Finding.objects.filter(pk=finding.pk, state=finding.state).update(
            state=to,
            dismissed_reason=reason,
            state_changed_by=by,
            state_changed_at=now,
            reopened_note="",
            **extra,
        )
        if changed:
            finding_event_record(
                finding=finding, action=_EVENT_FOR[to], by=by, summary=reason, at=now
            )
    if not changed:
        finding.refresh_from_db()
        raise ValidationError(
            f"This finding was changed meanwhile; it is now {finding.get_state_display().lower()}."
        )
    finding.state = to
    finding.dismissed_reason = reason
    finding.state_changed_by = by
    finding.state_changed_at = now
    finding.reopened_note = ""
    if extra:
        finding.refresh_from_db(fields=list(extra))
    return finding


# --- spreadsheet imports waiting for confirmation ---------------------------------------


class StageUnavailable(Exception):
    """The staged import cannot be confirmed; the message says why, for its uploader."""


def _stage_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staged_import_create(*, user, filename: str, rows: dict) -> str:
    """Keep checked rows for their uploader to confirm; the token that finds them again.

    Expired stages go first, and a person keeps only their newest few, so what waits here
    stays bounded however often someone uploads.
    """
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        StagedImport.objects.filter(expires_at__lte=now).delete()
        keep = settings.IMPORT_STAGES_PER_PERSON - 1
        newest = StagedImport.objects.filter(user=user).order_by("-created_at", "-id")
        StagedImport.objects.filter(user=user).exclude(
            pk__in=list(newest.values_list("pk", flat=True)[: max(keep, 0)])
        ).delete()
        StagedImport.objects.create(
            user=user,
            digest=_stage_digest(token),
            filename=filename[:200],
            rows=rows,
            expires_at=now + dt.timedelta(minutes=settings.IMPORT_STAGE_MINUTES),
        )
    return token


def staged_import_take(*, user, token: str) -> StagedImport:
    """The uploader's staged import, taken out so it is confirmed at most once.

    Raises StageUnavailable for an unknown, used, expired or someone else's token.
    """
    if not token or len(token) > 100:
        raise StageUnavailable("This preview cannot be confirmed; upload the file again.")
    with transaction.atomic():
        stage = (
            StagedImport.objects.select_for_update()
            .filter(digest=_stage_digest(token), user=user)
            .first()
        )
        if stage is None:
            raise StageUnavailable(
                "This preview cannot be confirmed (it was already imported, or is not yours); "
                "upload the file again."
            )
        stage.delete()
    if stage.expires_at <= timezone.now():
        raise StageUnavailable(
            f"This preview is over {settings.IMPORT_STAGE_MINUTES} minutes old; "
            "upload the file again."
        )
    return stage
