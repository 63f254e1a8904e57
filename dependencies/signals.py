"""What the dependencies app tells the layers above it, which it may not import."""

from __future__ import annotations

from django.dispatch import Signal

# The provider side answered a dependency (services.dependency_respond), sent inside the
# transaction that saved the answer. Arguments: dependency (as saved), by (who answered),
# action ("accept", "decline", "at_risk" or "done"), reason (as given, may be empty) and
# was (the status before).
dependency_answered = Signal()
