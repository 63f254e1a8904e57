"""Numbers as people read them."""

from __future__ import annotations

from decimal import Decimal


def plain_number(value: Decimal | None) -> str:
    """40.0000 as "40", 12.50 as "12.5", 0.00 as "0"; "" for none. Used for showing a stored
    decimal and as a form's initial value, so a form says back what it showed."""
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
