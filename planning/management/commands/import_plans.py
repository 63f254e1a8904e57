from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from planning.planning_file import PlanningFileInvalid, import_document
from planning.planning_file.reader import NotJSON, parse_json


class Command(BaseCommand):
    help = (
        "Create or update everything in a planning file. All or nothing: a file with any "
        "problem writes nothing and lists every problem with its JSON path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help='The planning file (JSON), or "-" for standard input.')
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="Tell nobody what the file changes: no webhook or chat events, no "
            "notifications (a first load of a whole company, or a restore).",
        )

    def handle(self, *args, file: str, quiet: bool = False, **options) -> None:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._fail(file, [f"$: the file cannot be read: {exc}"])
        try:
            document = parse_json(text)
        except NotJSON as exc:
            # A problem with the document as a whole sits at its root, "$".
            self._fail(file, [f"$: {exc}"])
        try:
            report = import_document(document, tell=not quiet)
        except PlanningFileInvalid as exc:
            self._fail(file, [str(problem) for problem in exc.problems])
        verdict = "Imported" if report.changed else "Nothing to change in"
        self.stdout.write(f"{verdict} {file}: {report.summary()}.")
        if report.told_requested or report.told_answers:
            self.stdout.write(
                f"Told: {_count(report.told_requested, 'new dependency', 'new dependencies')},"
                f" {_count(report.told_answers, 'status change', 'status changes')}"
                " (webhooks, chat and the needing squads' notifications)."
            )

    def _fail(self, file: str, lines: list[str]) -> None:
        noun = "problem" if len(lines) == 1 else "problems"
        self.stderr.write(f"{file}: {len(lines)} {noun}; nothing was written.")
        for line in lines:
            self.stderr.write(f"  {line}")
        raise SystemExit(1)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
