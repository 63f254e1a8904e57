from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.planning_file import (
    FORMAT_V1,
    FORMAT_V2,
    FORMATS,
    UnknownCycle,
    export_document,
    left_out_of_v1,
)


class Command(BaseCommand):
    help = "Print stored plans as a planning file (JSON) on standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", metavar="KEY", help="Export only this planning cycle.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default=FORMAT_V2,
            help=(
                f"{FORMAT_V2} (the default) carries everything; {FORMAT_V1} is the earlier "
                "format, for scripts that read only that: it leaves the customer's outcomes "
                "out (goals, success outcomes, milestones, value states, touchpoints) and says "
                "so on standard error."
            ),
        )

    def handle(self, *args, cycle: str | None = None, format: str = FORMAT_V2, **options):
        try:
            document = export_document(cycle, format=format)
        except UnknownCycle as exc:
            raise CommandError(str(exc)) from exc
        if format == FORMAT_V1 and (left := left_out_of_v1()):
            self.stderr.write(
                f"{FORMAT_V1} leaves out {', '.join(left)}; export {FORMAT_V2} to keep them."
            )
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
