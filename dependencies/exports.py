"""The board as a spreadsheet: CSV and Excel files of the dependencies the board shows.

Both files hold every row that the board's filters select (all pages, in the board's order),
one dependency per row under a header row. The rows come from one query over the filtered
queryset, read in chunks as plain values: 20,000 dependencies stream out without loading
them all, and without one query per row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from xml.sax.saxutils import escape

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat import safe_string
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter

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


class _Sink:
    """Where the zip archive writes: it keeps what was written until the response takes it.
    Not seekable, so zipfile writes each part with a data descriptor after it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


class _SheetAlreadyWritten(ExcelWriter):
    """openpyxl's writer for every part but the worksheet, which went into the archive
    while its rows were read."""

    def write_worksheet(self, ws) -> None:
        ws._drawing = SpreadsheetDrawing()
        ws._rels = ws._writer._rels
        self.manifest.append(ws)


def _sheet_xml(ws, header: list, *, rows: int) -> tuple[str, str]:
    """The worksheet's XML around its data rows, as openpyxl writes it: everything up to and
    including the header row, and everything from the end of the rows (with the filter over
    `rows` data rows) to the end."""
    out = io.BytesIO()
    writer = WorksheetWriter(ws, out=out)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{rows + 1}"
    writer.write_top()
    xf = writer.xf.send(True)
    with xf.element("sheetData"):
        writer.write_row(xf, header, 1)
    writer.xf.send(None)
    writer.write_tail()
    writer.close()
    ws._writer = writer  # its relationships (none) go into the workbook's parts
    text = out.getvalue().decode("utf-8")
    end = text.index("</sheetData>")
    return text[:end], text[end:]


def _cell_xml(ref: str, value, date_style: str) -> str:
    """One cell as openpyxl's write-only mode writes it (openpyxl.cell._writer)."""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):
        number = safe_string(to_excel(value))
        return f'<c r="{ref}" s="{date_style}" t="n"><v>{number}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f'<c r="{ref}" t="n"><v>{safe_string(value)}</v></c>'
    # Text, never a formula (text that starts with "=" too); what Excel cannot hold dropped.
    text = _xlsx_text(str(value))[:MAX_CELL_TEXT]
    if not text:
        return f'<c r="{ref}" t="inlineStr"/>'
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


# Excel's most characters in a cell; openpyxl cuts longer text there.
MAX_CELL_TEXT = 32_767
# Rows between two pieces handed to the response: a few hundred KB of sheet XML.
ROWS_PER_PIECE = 500


def xlsx_chunks(data: Iterable[list], *, title: str = "Dependencies") -> Iterator[bytes]:
    """An Excel workbook of the rows, piece by piece as it is written: a bold, frozen header
    row with a filter, real date cells with a date format, and column widths that fit the
    content.

    A workbook is a zip archive. Its worksheet goes in first, deflated as the rows are read
    from the database, so the download starts before the first query returns; the small
    parts that describe the workbook follow (openpyxl writes them, and the worksheet's
    header and tail), then the archive's directory. The data rows are written here, cell by
    cell as openpyxl's write-only mode writes them, at a fraction of its cost per cell.
    """
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws._id = 1
    for index, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for index, name in enumerate(HEADERS, start=1):
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        cell.row, cell.column = 1, index
        header.append(cell)
    part = archive.open(ws.path[1:], "w")
    head, _ = _sheet_xml(ws, header, rows=0)
    part.write(head.encode("utf-8"))
    yield sink.take()
    date_cell = WriteOnlyCell(ws)
    date_cell.number_format = DATE_FORMAT
    date_style = str(date_cell.style_id)

    letters = [get_column_letter(index) for index in range(1, len(COLUMNS) + 1)]
    count, lines = 0, []
    for row in data:
        count += 1
        number = count + 1
        cells = "".join(
            _cell_xml(f"{letter}{number}", value, date_style)
            for letter, value in zip(letters, row, strict=True)
        )
        lines.append(f'<row r="{number}">{cells}</row>')
        if count % ROWS_PER_PIECE == 0:
            part.write("".join(lines).encode("utf-8"))
            lines.clear()
            if piece := sink.take():
                yield piece
    part.write("".join(lines).encode("utf-8"))
    _, tail = _sheet_xml(ws, header, rows=count)
    part.write(tail.encode("utf-8"))
    part.close()
    yield sink.take()
    _SheetAlreadyWritten(wb, archive).save()
    yield sink.take()
