"""Reading a CSV file or an Excel workbook into rows of values, within bounds.

Anyone signed in may upload a spreadsheet, so reading one must cost little whatever the
file holds. A workbook is a zip of XML parts that may unpack to far more than was sent, and
its sheet may claim a million rows or a million columns. So, before anything is built from
a file:

- its size, and for a workbook each part's size once unpacked as the zip's directory
  declares it, all parts together, and how much a part grows when unpacked (zipfile itself
  never unpacks more than a part declares);
- then, while the sheet streams past row by row (expat, with no tree kept): rows in all
  (empty ones too), cells in all, the column of any value, the characters of any value,
  bytes unpacked, and the seconds spent.

The first bound crossed stops the reading with a short message saying which, and nothing
from the file is kept. openpyxl's read-only mode is not enough: it builds each row whole
(a header of 1.5 million cells is 1.5 million objects) and pads the gaps the sheet's
`<dimension>` claims, so the sheet XML is read here and only openpyxl's date helpers used.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import posixpath
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

CHUNK = 64 * 1024
# Small parts (styles, the workbook) may compress well; the ratio is judged above this.
RATIO_FLOOR = 1024 * 1024
MAX_ZIP_MEMBERS = 2000
MAX_SHEETS = 100

NOT_A_WORKBOOK = "The file is not an Excel workbook (.xlsx) that can be read."

Value = str | float | bool | dt.datetime | None


class UnreadableFile(Exception):
    """The file is not a spreadsheet this import understands; the message says why."""


@dataclass(frozen=True)
class Bounds:
    file_bytes: int = 5 * 1024 * 1024
    part_bytes: int = 40 * 1024 * 1024
    unpacked_bytes: int = 60 * 1024 * 1024
    ratio: int = 100
    sheet_rows: int = 20_000
    columns: int = 50
    cell_chars: int = 32_767
    seconds: float = 10

    @property
    def cells(self) -> int:
        """Cells in all, empty ones too: a quarter of the sheet's rows times its columns."""
        return self.sheet_rows * self.columns // 4

    @property
    def row_cells(self) -> int:
        """Cells in one row, empty ones too (Excel writes a formatted empty cell as one)."""
        return self.columns * 20

    @property
    def elements(self) -> int:
        """XML elements in all parts together: several per cell, and then some."""
        return self.sheet_rows * self.columns

    @classmethod
    def from_settings(cls) -> Bounds:
        from django.conf import settings

        return cls(
            file_bytes=settings.IMPORT_MAX_FILE_BYTES,
            part_bytes=settings.IMPORT_MAX_PART_BYTES,
            unpacked_bytes=settings.IMPORT_MAX_UNPACKED_BYTES,
            ratio=settings.IMPORT_MAX_RATIO,
            sheet_rows=settings.IMPORT_MAX_SHEET_ROWS,
            columns=settings.IMPORT_MAX_COLUMNS,
            cell_chars=settings.IMPORT_MAX_CELL_CHARS,
            seconds=settings.IMPORT_MAX_SECONDS,
        )


def _mb(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MB"


class _Budget:
    """The bounds that accumulate while reading one file: time, rows, cells, bytes."""

    def __init__(self, bounds: Bounds):
        self.bounds = bounds
        self.deadline = time.monotonic() + bounds.seconds
        self.unpacked = 0
        self.cells = 0
        self.elements = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise UnreadableFile(
                f"Reading the file took more than {self.bounds.seconds:g} seconds; "
                "split it into smaller files."
            )

    def row(self, sheet_rows: int, where: str) -> None:
        if sheet_rows > self.bounds.sheet_rows:
            raise UnreadableFile(
                f"{where} has more than {self.bounds.sheet_rows:,} rows, counting empty "
                "ones; delete the empty rows below your data, or split the file."
            )
        if sheet_rows % 256 == 0:
            self.tick()

    def cell(self, column: int, value_chars: int, row: int, where: str) -> None:
        if column > self.bounds.columns:
            raise UnreadableFile(
                f"{where} has a value in row {row:,}, column {column:,}; the import reads "
                f"at most {self.bounds.columns} columns."
            )
        if value_chars > self.bounds.cell_chars:
            raise UnreadableFile(
                f"{where} has a cell in row {row:,} longer than "
                f"{self.bounds.cell_chars:,} characters."
            )

    def element(self) -> None:
        self.elements += 1
        if self.elements > self.bounds.elements:
            raise UnreadableFile(
                f"The workbook holds more than {self.bounds.elements:,} XML elements; keep "
                "only the sheets to import."
            )

    def count_cells(self, count: int, where: str) -> None:
        self.cells += count
        if self.cells > self.bounds.cells:
            raise UnreadableFile(
                f"{where} has more than {self.bounds.cells:,} cells, counting empty ones; "
                "delete the empty rows and columns around your data."
            )


# --- CSV -------------------------------------------------------------------------------


def csv_rows(file: IO[bytes], bounds: Bounds) -> Iterator[list[str]]:
    """The rows of a UTF-8 CSV file, read lazily; raises UnreadableFile past a bound."""
    budget = _Budget(bounds)
    where = "The CSV file"
    _check_size(file, bounds)
    raw = file.read(bounds.file_bytes + 1)
    if len(raw) > bounds.file_bytes:
        raise UnreadableFile(_too_big(len(raw), bounds))
    try:
        text = codecs.decode(raw, "utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("The CSV file is not UTF-8 text; save it as “CSV UTF-8”.") from None
    del raw
    if "\x00" in text:
        raise UnreadableFile("The CSV file holds binary data; is it really a CSV file?")
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 0
    try:
        for values in reader:
            number += 1
            budget.row(number, where)
            budget.count_cells(len(values), where)
            for column, value in enumerate(values, start=1):
                if value:
                    budget.cell(column, len(value), number, where)
            yield values
    except csv.Error as exc:
        raise UnreadableFile(f"The CSV file cannot be read: {exc}.") from None


def _too_big(size: int, bounds: Bounds) -> str:
    return f"The file is {_mb(size)}; the limit is {_mb(bounds.file_bytes)}."


def _check_size(file: IO[bytes], bounds: Bounds) -> None:
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    if size > bounds.file_bytes:
        raise UnreadableFile(_too_big(size, bounds))


# --- Excel -----------------------------------------------------------------------------

_BUILTIN_DATE_FORMATS = frozenset({*range(14, 23), *range(45, 48)})


class _Part:
    """Feeds one zip member to an expat parser in chunks, counting what it unpacks."""

    def __init__(self, book: zipfile.ZipFile, name: str, budget: _Budget):
        self.book, self.name, self.budget = book, name, budget

    def parse(self, start: Callable, end: Callable, text: Callable | None = None) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True

        def refuse(*_args) -> None:
            raise UnreadableFile("The workbook holds XML declarations no spreadsheet uses.")

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        element = self.budget.element

        def started(name, attrs):
            element()
            start(name.rpartition(" ")[2], attrs)

        parser.StartElementHandler = started
        parser.EndElementHandler = lambda name: end(name.rpartition(" ")[2])
        if text is not None:
            parser.CharacterDataHandler = text
        bounds, read = self.budget.bounds, 0
        try:
            with self.book.open(self.name) as stream:
                while chunk := stream.read(CHUNK):
                    read += len(chunk)
                    self.budget.unpacked += len(chunk)
                    if read > bounds.part_bytes or self.budget.unpacked > bounds.unpacked_bytes:
                        raise UnreadableFile(_unpacks_to(bounds))
                    self.budget.tick()
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except _Done:
            return
        except expat.ExpatError:
            raise UnreadableFile("The workbook's XML is damaged; save it again in Excel.") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise UnreadableFile("The workbook is damaged; save it again in Excel.") from None


class _Done(Exception):
    """Stops a parse early once everything needed is read."""


def _unpacks_to(bounds: Bounds) -> str:
    return (
        f"The workbook unpacks to more than this import reads ({_mb(bounds.part_bytes)} a "
        f"part, {_mb(bounds.unpacked_bytes)} in all); keep only the sheets to import."
    )


def _column_index(ref: str) -> int:
    index = 0
    for char in ref:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
            if index > 20_000:
                break
        else:
            break
    return index


def _open_zip(file: IO[bytes], bounds: Bounds) -> zipfile.ZipFile:
    _check_size(file, bounds)
    try:
        book = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise UnreadableFile(NOT_A_WORKBOOK) from None
    members = book.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise UnreadableFile(f"The workbook has more than {MAX_ZIP_MEMBERS:,} parts.")
    total = 0
    for info in members:
        total += info.file_size
        grows = info.file_size / max(info.compress_size, 1)
        if (
            info.file_size > bounds.part_bytes
            or total > bounds.unpacked_bytes
            or (info.file_size > RATIO_FLOOR and grows > bounds.ratio)
        ):
            raise UnreadableFile(_unpacks_to(bounds))
    return book


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


class _Workbook:
    def __init__(self, book: zipfile.ZipFile, budget: _Budget):
        self.book, self.budget = book, budget
        self.names = set(book.namelist())
        self.workbook_part = "xl/workbook.xml"
        if self.workbook_part not in self.names:
            raise UnreadableFile(NOT_A_WORKBOOK)
        self.epoch = dt.datetime(1899, 12, 30)  # noqa: DTZ001 (Excel has no time zones)
        self.sheets: list[tuple[str, str]] = []  # (title, relationship id)
        self._read_workbook()
        self.targets = self._read_relations()
        self.date_styles = self._read_styles()
        self.strings = self._read_strings()

    def _part(self, name: str) -> _Part:
        return _Part(self.book, name, self.budget)

    def _read_workbook(self) -> None:
        def start(name, attrs):
            if name == "workbookPr" and attrs.get("date1904") in ("1", "true"):
                self.epoch = dt.datetime(1904, 1, 1)  # noqa: DTZ001
            elif name == "sheet":
                if len(self.sheets) >= MAX_SHEETS:
                    raise UnreadableFile(f"The workbook has more than {MAX_SHEETS} sheets.")
                rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
                self.sheets.append((attrs.get("name", ""), rid))

        self._part(self.workbook_part).parse(start, lambda name: None)

    def _read_relations(self) -> dict[str, str]:
        part = "xl/_rels/workbook.xml.rels"
        targets: dict[str, str] = {}
        if part not in self.names:
            return targets

        def start(name, attrs):
            if name == "Relationship" and len(targets) < MAX_ZIP_MEMBERS:
                targets[attrs.get("Id", "")] = _target(self.workbook_part, attrs.get("Target", ""))

        self._part(part).parse(start, lambda name: None)
        return targets

    def _read_styles(self) -> frozenset[int]:
        """Which cell styles (by index) show a number as a date."""
        from openpyxl.styles.numbers import is_date_format

        part = self.targets_of("styles") or "xl/styles.xml"
        if part not in self.names:
            return frozenset()
        custom: dict[int, bool] = {}
        formats: list[int] = []
        where = {"in_xfs": False}

        def start(name, attrs):
            if name == "numFmt":
                with contextlib.suppress(ValueError):
                    custom[int(attrs.get("numFmtId", "0"))] = is_date_format(
                        attrs.get("formatCode", "")[:255]
                    )
            elif name == "cellXfs":
                where["in_xfs"] = True
            elif name == "xf" and where["in_xfs"]:
                if len(formats) > 65_000:
                    raise UnreadableFile("The workbook has more cell styles than Excel allows.")
                try:
                    formats.append(int(attrs.get("numFmtId", "0")))
                except ValueError:
                    formats.append(0)

        def end(name):
            if name == "cellXfs":
                raise _Done

        self._part(part).parse(start, end)
        return frozenset(
            index
            for index, number in enumerate(formats)
            if custom.get(number, number in _BUILTIN_DATE_FORMATS)
        )

    def targets_of(self, kind: str) -> str | None:
        """The part a well-known relationship points at, e.g. xl/sharedStrings.xml."""
        wanted = {"styles": "styles.xml", "strings": "sharedstrings.xml"}[kind]
        for target in self.targets.values():
            if target.lower().endswith(wanted):
                return target
        return None

    def _read_strings(self) -> list[str]:
        part = self.targets_of("strings") or "xl/sharedStrings.xml"
        strings: list[str] = []
        if part not in self.names:
            return strings
        state = {"depth_rph": 0, "in_t": False, "parts": [], "chars": 0}
        bounds = self.budget.bounds

        def start(name, attrs):
            if name == "si":
                state["parts"], state["chars"] = [], 0
            elif name == "rPh":
                state["depth_rph"] += 1
            elif name == "t":
                state["in_t"] = True

        def text(data):
            if state["in_t"] and not state["depth_rph"]:
                state["chars"] += len(data)
                if state["chars"] > bounds.cell_chars:
                    raise UnreadableFile(
                        f"The workbook has a text longer than {bounds.cell_chars:,} characters."
                    )
                state["parts"].append(data)

        def end(name):
            if name == "si":
                strings.append("".join(state["parts"]))
                state["parts"] = []
                if len(strings) > bounds.cells:
                    raise UnreadableFile(
                        f"The workbook has more than {bounds.cells:,} texts; keep only the "
                        "sheets to import."
                    )
            elif name == "rPh":
                state["depth_rph"] -= 1
            elif name == "t":
                state["in_t"] = False

        self._part(part).parse(start, end, text)
        return strings

    def sheet_parts(self) -> Iterator[tuple[str, str]]:
        for title, rid in self.sheets:
            part = self.targets.get(rid)
            if part and part in self.names:
                yield title, part

    def rows(self, title: str, part: str) -> list[list[Value]]:
        """Every row of one sheet up to its last value, empty rows kept in their places."""
        from openpyxl.utils.datetime import from_excel

        budget, bounds = self.budget, self.budget.bounds
        where = f"The sheet “{title[:40]}”"
        rows: list[list[Value]] = []
        state = {
            "sheet_rows": 0,
            "row": 0,
            "cells": {},
            "column": 0,
            "type": "n",
            "style": 0,
            "in_value": False,
            "parts": [],
            "chars": 0,
            "in_rph": 0,
            "row_cells": 0,
        }

        def start(name, attrs):
            if name == "c":
                ref = attrs.get("r")
                state["column"] = _column_index(ref) if ref else state["column"] + 1
                state["type"] = attrs.get("t", "n")
                try:
                    state["style"] = int(attrs.get("s", "0"))
                except ValueError:
                    state["style"] = 0
                state["parts"], state["chars"] = [], 0
                state["row_cells"] += 1
                if state["row_cells"] > bounds.row_cells:
                    raise UnreadableFile(
                        f"{where} has more than {bounds.row_cells:,} cells in row "
                        f"{state['row']:,}, counting empty ones; delete the empty columns "
                        "to the right of your data."
                    )
                budget.count_cells(1, where)
            elif name in ("v", "t") and not state["in_rph"]:
                state["in_value"] = True
            elif name == "rPh":
                state["in_rph"] += 1
            elif name == "row":
                state["sheet_rows"] += 1
                budget.row(state["sheet_rows"], where)
                try:
                    state["row"] = int(attrs["r"]) if "r" in attrs else state["row"] + 1
                except ValueError:
                    state["row"] += 1
                state["cells"], state["column"], state["row_cells"] = {}, 0, 0

        def text(data):
            if state["in_value"]:
                state["chars"] += len(data)
                if state["chars"] > bounds.cell_chars:
                    budget.cell(state["column"], state["chars"], state["row"], where)
                state["parts"].append(data)

        def end(name):
            if name in ("v", "t"):
                state["in_value"] = False
            elif name == "rPh":
                state["in_rph"] -= 1
            elif name == "c":
                value = self._value(state, from_excel)
                if value is not None and value != "":
                    budget.cell(state["column"], state["chars"], state["row"], where)
                    state["cells"][state["column"]] = value
                state["parts"] = []
            elif name == "row":
                self._keep_row(rows, state)

        self._part(part).parse(start, end, text)
        return rows

    def _keep_row(self, rows: list[list[Value]], state: dict) -> None:
        cells = state["cells"]
        if not cells:
            return
        number = state["row"]
        if number > self.budget.bounds.sheet_rows:
            raise UnreadableFile(
                f"The sheet has values in row {number:,}; the import reads rows up to "
                f"{self.budget.bounds.sheet_rows:,}. Move the data up, or split the file."
            )
        while len(rows) < number - 1:
            rows.append([])
        if len(rows) >= number:  # rows out of order: keep reading order
            number = len(rows) + 1
        width = max(cells)
        rows.append([cells.get(column) for column in range(1, width + 1)])

    def _value(self, state: dict, from_excel) -> Value:
        raw = "".join(state["parts"])
        kind = state["type"]
        if kind == "s":
            try:
                return self.strings[int(raw)]
            except (ValueError, IndexError):
                return None
        if kind in ("inlineStr", "str"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "e" or not raw:
            return None
        if kind == "d":
            try:
                return dt.datetime.fromisoformat(raw.strip())
            except ValueError:
                return raw
        try:
            number = float(raw)
        except ValueError:
            return raw
        if state["style"] in self.date_styles:
            try:
                return from_excel(number, self.epoch)
            except (ValueError, OverflowError):
                return number
        return number


def xlsx_sheets(file: IO[bytes], bounds: Bounds) -> Iterator[tuple[str, list[list[Value]]]]:
    """(title, rows) for each sheet of an Excel workbook, in order; raises UnreadableFile
    past a bound."""
    budget = _Budget(bounds)
    with _open_zip(file, bounds) as book:
        workbook = _Workbook(book, budget)
        for title, part in workbook.sheet_parts():
            yield title, workbook.rows(title, part)
