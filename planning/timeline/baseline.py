"""The dates a cycle's squads committed to, drawn on the timeline as ghost bars."""

from __future__ import annotations

import datetime as dt

from core.models import Cycle


def baseline_dates(cycle: Cycle) -> dict[str, tuple[dt.date, dt.date]]:
    """Each initiative's committed (starts, ends), by its ref ("<squad key>/<initiative key>").

    It reads the committed baseline: the dates the season's commit recorded for the cycle.
    Until the cycle has been committed there is none, and the timeline draws no ghost bars.
    Whatever it reads must move one of the revisions the timeline's cached page is keyed on
    (planning/timeline/views.py), or a new commit would not show until the plans change:
    the baseline's tables move `directory` (planning migration 0019).
    """
    from planning import season

    return season.baseline_dates(cycle)
