"""Write what triage decided about overlap findings as labelled pairs for overlap_eval.

    manage.py export_overlap_labels OUT.json [--cycle KEY]

Writes OUT.json, a planning file of the cycles concerned with each labelled initiative as it
was judged, and beside it OUT.expected.json: `{"partial": true, "groups": [...],
"not_same": [[a, b], ...], "related": [[a, b], ...]}` (planning/overlap_labels.py says what
each holds). Then: `manage.py overlap_eval OUT.json OUT.expected.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning import overlap_labels


def expected_path(out: Path) -> Path:
    """OUT.json -> OUT.expected.json (as tests/data names its files)."""
    stem = out.name[: -len(".json")] if out.name.endswith(".json") else out.name
    return out.with_name(f"{stem}.expected.json")


class Command(BaseCommand):
    help = (
        "Write the pairs of initiatives people judged from overlap findings (the same work, "
        "not the same work, related and kept) as a planning file and an expected file that "
        "overlap_eval reads."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="The planning file to write; OUT.expected.json beside it.")
        parser.add_argument("--cycle", metavar="KEY", help="Only this planning cycle's labels.")

    def handle(self, *args, out: str, cycle: str | None, **options) -> None:
        if cycle is not None and not overlap_labels.known_cycle(cycle):
            raise CommandError(f'no cycle with key "{cycle}"')
        labels = overlap_labels.collect(cycle)
        if not labels.cycles:
            raise CommandError(
                "Nobody has judged an overlap finding yet: there is nothing to write."
            )
        path = Path(out)
        expected = expected_path(path)
        try:
            path.write_text(
                json.dumps(overlap_labels.planning_file(labels), indent=2, ensure_ascii=False)
                + "\n",
                encoding="utf-8",
            )
            expected.write_text(
                json.dumps(labels.expected(), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
        except OSError as exc:
            raise CommandError(f"{exc.filename}: {exc.strerror}") from exc
        same = len(labels.same_pairs())
        self.stdout.write(
            f"{path} and {expected}: {len(labels.groups)} groups of the same work ({same} pairs), "
            f"{len(labels.not_same)} pairs not the same work, {len(labels.related)} related "
            f"pairs kept by both, from {', '.join(labels.cycles)}."
        )
