"""The timeline: every squad's initiatives of a cycle on a time axis (docs/architecture.md)."""
