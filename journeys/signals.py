"""What this app tells the layers above it, which it may not import.

`map_drawn` is sent whenever the journey map, or a part of it, is drawn for someone, with
`request`, `journey`, `stages` (each with its moments) and `cycle` (the cycle on screen).
A receiver may set attributes on the stages and moments for the template (the planning
layer sets each one's `risk`: planning/journey_map/) and return a dict of further context.
"""

from __future__ import annotations

from django.dispatch import Signal

map_drawn = Signal()
