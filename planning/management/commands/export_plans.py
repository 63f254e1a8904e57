from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.planning_file import UnknownCycle, export_document


class Command(BaseCommand):
    help = "Print stored plans as a planning file (JSON) on standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", metavar="KEY", help="Export only this planning cycle.")

    def handle(self, *args, cycle: str | None = None, **options) -> None:
        try:
            document = export_document(cycle)
        except UnknownCycle as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
