"""The journey map's risk: for each stage and moment, who covers it, the work aimed at it,
what blocks that work, the findings that name any of it, and the covering squads' lowest
confidence.

The map itself is the journeys app's (journeys/views.py); this layer, which may read squads,
dependencies and findings, adds each stage's and moment's `risk` when the map is drawn
(journeys.signals.map_drawn). `selectors.py` reads it in a fixed number of queries,
`presenters.py` turns the rows into each one's risk line and items.
"""

from __future__ import annotations


def connect() -> None:
    from journeys.signals import map_drawn
    from planning.journey_map.presenters import add_risk

    map_drawn.connect(add_risk, dispatch_uid="planning.journey_map.add_risk")
