"""The planning season (docs/season.md): cycles move from draft through reconciling,
committed and in flight to closed; committing keeps a baseline against which drift is
measured; the unfinished work of one cycle carries forward into the next.

`baseline_dates(cycle)` gives each initiative's committed dates, for pages that draw them.
"""

from __future__ import annotations


def baseline_dates(cycle):
    """{"squad/initiative": (starts, ends)} as committed: see selectors.baseline_dates."""
    from planning.season.selectors import baseline_dates as read

    return read(cycle)
