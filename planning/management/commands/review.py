from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import nullcontext, redirect_stdout

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.models import Cycle
from planning.review import day, sort_key
from planning.services import review_run


class Command(BaseCommand):
    help = (
        "Run the review now (the same code the periodic task runs) over every planning cycle, "
        "or one, store its findings and print them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON array of the findings that hold now, as the planning file "
            "contract describes them.",
        )
        parser.add_argument(
            "--today",
            metavar="YYYY-MM-DD",
            help="The date overdue and soon are judged against (default: today).",
        )
        parser.add_argument("--cycle", metavar="KEY", help="Review only this planning cycle.")

    def handle(self, *args, json: bool, today: str | None, cycle: str | None, **options):
        on = self._date(today) if today else timezone.localdate()
        cycles = Cycle.objects.order_by("starts", "key")
        if cycle is not None:
            cycles = cycles.filter(key=cycle)
            if not cycles.exists():
                raise CommandError(f'There is no planning cycle with key "{cycle}".')
        found = []
        # With --json, standard output holds the JSON alone: a console email backend
        # printing the notifications goes to standard error instead.
        with redirect_stdout(sys.stderr) if json else nullcontext():
            for reviewed in cycles:
                run = review_run(cycle=reviewed, today=on, trigger="command")
                found.extend(run.findings)
                if not json:
                    self._print_run(reviewed, run, on)
        if json:
            found.sort(key=sort_key)
            self.stdout.write(_dumps([f.as_json() for f in found]))

    def _date(self, text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise CommandError(
                f'--today must be a date written YYYY-MM-DD, such as 2027-02-10, not "{text}".'
            ) from None

    def _print_run(self, cycle: Cycle, run, on: dt.date) -> None:
        self.stdout.write(
            f"{cycle.name} ({cycle.key}), judged on {day(on)}: {len(run.findings)} finding(s), "
            f"{run.findings_new} new, {run.findings_resolved} resolved."
        )
        for finding in run.findings:
            self.stdout.write(
                f"  [{finding.severity}] {finding.kind}/{finding.rule}: {finding.message}"
            )


def _dumps(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
