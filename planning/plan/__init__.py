"""A squad's plan: the page that shows several apps at once (docs/architecture.md)."""
