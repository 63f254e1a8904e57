"""The board as a spreadsheet: CSV and Excel files of the dependencies the board shows.

Both files hold every row that the board's filters select (all pages, in the board's order),
one dependency per row under a header row. The rows come from one query over the filtered
queryset, read in chunks as plain values: 20,000 dependencies stream out without loading
them all, and without one query per row.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dependencies.models import OPEN_STATUSES, Dependency

CHUNK_SIZE = 2000
DATE_FORMAT = "yyyy-mm-dd"
STATUS_LABELS = dict(Dependency.Status.choices)

# (header, Excel column width in characters)
COLUMNS: list[tuple[str, int]] = [
    ("Key", 22),
    ("Needed by (squad)", 26),
    ("Needed by (initiative)", 30),
    ("Provider (squad)", 26),
    ("Provider (initiative)", 30),
    ("Provider (function)", 18),
    ("What", 48),
    ("Due", 12),
    ("Blocking", 10),
    ("Status", 12),
    ("Owner", 20),
    ("Journey stage", 28),
    ("Overdue", 10),
    ("Note", 48),
]
HEADERS = [name for name, _ in COLUMNS]
DATE_COLUMNS = {HEADERS.index("Due")}

_FIELDS = (
    "key",
    "needer_name",
    "from_initiative__title",
    "provider_squad_name",
    "to_initiative__title",
    "to_function",
    "what",
    "due",
    "blocking",
    "status",
    "owner__profile__display_name",
    "owner__username",
    "stage_journey",
    "stage_name",
    "note",
)


def export_values(qs: QuerySet[Dependency]) -> QuerySet:
    """The columns a row shows, as plain values joined in the one query.

    The stage is the needing initiative's, else the provider initiative's, as on the board.
    """
    return qs.annotate(
        needer_name=F("needer__name"),
        provider_squad_name=F("provider__name"),
        stage_name=Coalesce("from_initiative__stage__name", "to_initiative__stage__name"),
        stage_journey=Coalesce(
            "from_initiative__stage__journey__name", "to_initiative__stage__journey__name"
        ),
    ).values_list(*_FIELDS)


def rows(qs: QuerySet[Dependency], today: dt.date) -> Iterator[list]:
    """One list of typed values per dependency (dates as dates, flags as booleans)."""
    for (
        key,
        needer,
        needer_initiative,
        provider,
        provider_initiative,
        function,
        what,
        due,
        blocking,
        status,
        owner_name,
        owner_username,
        journey,
        stage,
        note,
    ) in export_values(qs).iterator(chunk_size=CHUNK_SIZE):
        yield [
            key,
            needer or "",
            needer_initiative or "",
            provider or "",
            provider_initiative or "",
            function,
            what,
            due,
            blocking,
            STATUS_LABELS.get(status, status),
            owner_name or owner_username or "",
            f"{journey}: {stage}" if stage else "",
            status in OPEN_STATUSES and due < today,
            note,
        ]


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------

# A spreadsheet opening a CSV runs a cell that starts with one of these as a formula
# ("CSV injection": =HYPERLINK(...), +cmd|..., @SUM(...)), and tab or carriage return can
# smuggle one past a naive check. Every text cell that starts with one gets a leading
# apostrophe, which spreadsheets show as plain text; dates and flags never start with one.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def _csv_cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return csv_safe(str(value))


class _Echo:
    """A file that hands back what is written, for csv.writer feeding a streamed response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(data: Iterable[list]) -> Iterator[str]:
    """The CSV file line by line: a byte order mark (so Excel reads UTF-8), then the rows."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADERS)
    for row in data:
        yield writer.writerow([_csv_cell(v) for v in row])


# ---------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------


def _xlsx_text(value: str) -> str:
    # Excel files cannot hold most control characters; openpyxl refuses them.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def write_xlsx(data: Iterable[list], out: IO[bytes], *, title: str = "Dependencies") -> None:
    """An Excel workbook of the rows: a bold, frozen header row with a filter, real date cells
    with a date format, and column widths that fit the content.

    openpyxl spends most of its time per cell, so only the cells that need a style get one
    (the date column, sharing one style), and every other value goes in as it is.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    for index, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"

    bold = Font(bold=True)
    header = []
    for name in HEADERS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)

    date_cell = WriteOnlyCell(ws)
    date_cell.number_format = DATE_FORMAT
    date_style = date_cell._style
    count = 0
    for row in data:
        values: list = []
        for index, value in enumerate(row):
            if index in DATE_COLUMNS:
                value = WriteOnlyCell(ws, value=value)
                value._style = date_style
            elif isinstance(value, str):
                value = _xlsx_text(value)
                if value.startswith("="):
                    # Text that starts with "=" is stored as text, never as a formula.
                    value = WriteOnlyCell(ws, value=value)
                    value.data_type = "s"
            values.append(value)
        ws.append(values)
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    wb.save(out)


def xlsx_file(data: Iterable[list], *, title: str = "Dependencies") -> IO[bytes]:
    """The workbook in a temporary file (kept in memory while small), rewound for reading.

    The caller closes it: a FileResponse does once the file is sent.
    """
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    write_xlsx(data, out, title=title)
    out.seek(0)
    return out
