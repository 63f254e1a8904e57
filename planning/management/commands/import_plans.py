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

    def handle(self, *args, file: str, **options) -> None:
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
            report = import_document(document)
        except PlanningFileInvalid as exc:
            self._fail(file, [str(problem) for problem in exc.problems])
        verdict = "Imported" if report.changed else "Nothing to change in"
        self.stdout.write(f"{verdict} {file}: {report.summary()}.")

    def _fail(self, file: str, lines: list[str]) -> None:
        noun = "problem" if len(lines) == 1 else "problems"
        self.stderr.write(f"{file}: {len(lines)} {noun}; nothing was written.")
        for line in lines:
            self.stderr.write(f"  {line}")
        raise SystemExit(1)
