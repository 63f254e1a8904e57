"""Hostile spreadsheets: files built to cost a web worker seconds and gigabytes are refused
with a short message, with little memory, and the site keeps answering.

Each bomb is built here. Memory is measured in a separate process (tracemalloc around the
read alone); the only time limit is a generous safety timeout on that process.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from planning.models import StagedImport
from squads.models import Initiative

pytestmark = pytest.mark.django_db
User = get_user_model()
ROOT = Path(__file__).resolve().parent.parent
MEMORY_BOUND = 200 * 1024 * 1024
SAFETY_TIMEOUT = 120

HEADER = ["squad", "key", "title", "function", "starts", "ends"]
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.fixture
def olga_client(olga) -> Client:
    """A browser signed in as the shared Olga."""
    client = Client()
    client.force_login(olga)
    return client


def _inline(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


HEADER_ROW = '<row r="1">' + "".join(_inline(name) for name in HEADER) + "</row>"


def workbook(sheet_xml_chunks, *, name: str = "Initiatives") -> bytes:
    """An .xlsx whose one sheet's XML is written from the given chunks, as it streams."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"/>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{NS}" xmlns:r="{RELS_NS}"><sheets>'
            f'<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with book.open(info, "w", force_zip64=True) as sheet:
            for chunk in sheet_xml_chunks:
                sheet.write(chunk.encode())
    return out.getvalue()


def empty_rows() -> bytes:
    """A sheet that claims the whole grid and holds a million rows of empty cells (rows
    1 to 1,000,000, numbered by their place)."""

    def chunks():
        yield f'<worksheet xmlns="{NS}"><dimension ref="A1:XFD1048576"/><sheetData>'
        yield HEADER_ROW
        for _ in range(100):
            yield '<row><c s="1"/></row>' * 10_000
        yield "</sheetData></worksheet>"

    return workbook(chunks())


def wide_header(*, with_values: bool) -> bytes:
    """A header row of 1.5 million cells, with a value each or empty."""
    cell = _inline("c") if with_values else "<c/>"

    def chunks():
        yield f'<worksheet xmlns="{NS}"><sheetData><row r="1">'
        for _ in range(150):
            yield cell * 10_000
        yield "</row></sheetData></worksheet>"

    return workbook(chunks())


def huge_member() -> bytes:
    """A sheet part that unpacks to about 420 MB."""
    spaces = " " * (1024 * 1024)

    def chunks():
        yield f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}'
        for _ in range(420):
            yield spaces
        yield "</sheetData></worksheet>"

    return workbook(chunks())


# Each bomb, and what the refusal says once the part sizes are let through (the sheet's own
# bound crossed while it streams). With the default bounds, the zip's directory gives every
# one of them away first.
BOMBS = {
    "empty rows": (empty_rows, "more than 20,000 rows, counting empty ones"),
    "wide header of values": (
        lambda: wide_header(with_values=True),
        "the import reads at most 50 columns",
    ),
    "wide header of empty cells": (
        lambda: wide_header(with_values=False),
        "more than 1,000 cells in row 1, counting empty ones",
    ),
    "empty cells on many rows": (
        lambda: workbook(
            [f'<worksheet xmlns="{NS}"><sheetData>', HEADER_ROW]
            + ["<row>" + "<c/>" * 999 + "</row>"] * 300
            + ["</sheetData></worksheet>"]
        ),
        "more than 250,000 cells, counting empty ones",
    ),
    "huge member": (huge_member, "unpacks to more than"),
}
UNPACKS = "The workbook unpacks to more than this import reads"


def read_in_a_process(tmp_path: Path, content: bytes, name: str, **env: str) -> dict:
    """Read the file as the import does, in a fresh process: the outcome and peak memory."""
    path = tmp_path / name
    path.write_bytes(content)
    script = (
        "import json, sys, tracemalloc, django\n"
        "django.setup()\n"
        "from planning import spreadsheet_import as sheets\n"
        "tracemalloc.start()\n"
        "try:\n"
        "    with open(sys.argv[2], 'rb') as f:\n"
        "        sheets.read(sys.argv[1], f)\n"
        "    outcome = 'read'\n"
        "except sheets.UnreadableFile as exc:\n"
        "    outcome = str(exc)\n"
        "print(json.dumps({'outcome': outcome, 'peak': tracemalloc.get_traced_memory()[1]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, name, str(path)],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "throughline.settings",
            "THROUGHLINE_VAR_DIR": str(tmp_path / "var"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_spreadsheet_bomb_is_refused_plainly_and_the_site_keeps_answering(olga_client, bomb):
    content = BOMBS[bomb][0]()
    assert len(content) < 1024 * 1024  # small enough to upload

    response = olga_client.post("/import/", {"file": SimpleUploadedFile("plans.xlsx", content)})

    page = response.content.decode()
    assert response.status_code == 400
    assert UNPACKS in page
    assert len(page) < 50_000
    assert not Initiative.objects.filter(key="c").exists()
    assert not StagedImport.objects.exists()
    assert olga_client.get("/import/").status_code == 200


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_spreadsheet_bomb_is_refused_with_bounded_memory(tmp_path, bomb):
    result = read_in_a_process(tmp_path, BOMBS[bomb][0](), "bomb.xlsx")
    assert UNPACKS in result["outcome"]
    assert result["peak"] < MEMORY_BOUND


@pytest.mark.parametrize(
    "bomb", ["empty rows", "wide header of values", "wide header of empty cells"]
)
def test_the_sheet_is_bounded_while_it_streams_even_when_its_parts_may_be_large(tmp_path, bomb):
    # With the bounds on part sizes and growth out of the way, the rows, columns and cells
    # are still counted as the sheet streams, and reading stops at the first one crossed.
    build, says = BOMBS[bomb]
    lenient = {
        "IMPORT_MAX_PART_BYTES": str(2**40),
        "IMPORT_MAX_UNPACKED_BYTES": str(2**40),
        "IMPORT_MAX_RATIO": str(2**20),
    }
    result = read_in_a_process(tmp_path, build(), "bomb.xlsx", **lenient)
    assert says in result["outcome"]
    assert result["peak"] < MEMORY_BOUND


@pytest.mark.parametrize(
    "content, says",
    [
        (",".join(HEADER).encode() + b"," * 2_500_000 + b"x\n", "columns"),
        (",".join(HEADER).encode() + b"\n" * 5_000_000, "rows"),
        (",".join(HEADER).encode() + b"\nfirst-90-days,k," + b"t" * 40_000 + b"\n", "longer"),
        (",".join(HEADER).encode() + b"\n" + b"x" * (5 * 1024 * 1024), "the limit is"),
    ],
    ids=["wide header", "empty lines", "long cell", "too large"],
)
def test_a_hostile_csv_file_is_refused_plainly(olga_client, tmp_path, content, says):
    response = olga_client.post("/import/", {"file": SimpleUploadedFile("plans.csv", content)})
    assert response.status_code == 400
    assert says in response.content.decode()
    result = read_in_a_process(tmp_path, content, "plans.csv")
    assert says in result["outcome"]
    assert result["peak"] < MEMORY_BOUND


def test_a_part_that_understates_its_size_is_refused_as_damaged(olga_client):
    # The zip's directory says the sheet unpacks to 1,000 bytes; it unpacks to 3 MB. Only
    # what the directory declares is ever unpacked, and the part then fails its check.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{NS}" xmlns:r="{RELS_NS}"><sheets>'
            '<sheet name="Initiatives" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        book.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}'
            + "<row><c/></row>" * 200_000
            + "</sheetData></worksheet>",
        )
    data = bytearray(out.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    local = info.header_offset
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"xl/worksheets/sheet1.xml"))
    data[local + 22 : local + 26] = struct.pack("<I", 1000)
    data[central + 24 : central + 28] = struct.pack("<I", 1000)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(info.filename).file_size == 1000

    response = olga_client.post("/import/", {"file": SimpleUploadedFile("plans.xlsx", bytes(data))})

    assert response.status_code == 400
    assert "The workbook is damaged" in response.content.decode()
