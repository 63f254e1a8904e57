"""The board as a file: CSV and Excel exports of what the board shows, read back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.models import Cycle
from dependencies.exports import HEADERS, csv_safe
from dependencies.models import Dependency
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def needing(needing, carol):
    """The shared needing squad with Carol in it too: she downloads what her squad's board
    shows."""
    f.member(needing, carol, function="Marketing")
    return needing


@pytest.fixture
def deps(needing, providing, wizard, assessment, dora):
    """Three dependencies: on a squad's initiative, overdue on a squad, on a function."""
    return [
        Dependency.objects.create(
            key="messaging",
            from_initiative=wizard,
            to_initiative=assessment,
            what="Feature messaging for the wizard",
            due=TODAY + dt.timedelta(days=30),
            blocking=True,
            owner=dora,
            note="Campaign cannot launch without it.\nSecond line, with a comma.",
        ),
        Dependency.objects.create(
            key="late-one",
            from_squad=needing,
            to_squad=providing,
            what="Pricing page copy",
            due=TODAY - dt.timedelta(days=5),
            status="accepted",
        ),
        Dependency.objects.create(
            key="csm-hiring",
            from_squad=needing,
            to_function="People",
            what="15 customer success managers hired",
            due=TODAY + dt.timedelta(days=90),
            blocking=True,
            status="done",
        ),
    ]


def csv_url(**params) -> str:
    return _url("board:export_csv", params)


def xlsx_url(**params) -> str:
    return _url("board:export_xlsx", params)


def _url(name: str, params: dict) -> str:
    url = reverse(name)
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert response["Content-Disposition"].endswith('.csv"')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # so Excel reads the file as UTF-8
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header, *body = list(reader)
    assert header == HEADERS
    return [dict(zip(header, row, strict=True)) for row in body]


def read_xlsx(response):
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return workbook.active


def xlsx_rows(sheet) -> list[dict]:
    header, *body = list(sheet.iter_rows(values_only=True))
    assert list(header) == HEADERS
    return [dict(zip(header, row, strict=True)) for row in body]


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------


def test_the_csv_holds_every_dependency_with_every_column(client, deps, carol):
    client.force_login(carol)
    rows = {row["Key"]: row for row in read_csv(client.get(csv_url()))}
    assert set(rows) == {"messaging", "late-one", "csm-hiring"}
    assert rows["messaging"] == {
        "Key": "messaging",
        "Needed by (squad)": "First 90 Days",
        "Needed by (initiative)": "In-app onboarding wizard",
        "Provider (squad)": "Product-led Growth",
        "Provider (initiative)": "Assessment tool",
        "Provider (function)": "",
        "What": "Feature messaging for the wizard",
        "Due": (TODAY + dt.timedelta(days=30)).isoformat(),
        "Blocking": "yes",
        "Status": "Requested",
        "Owner": "Dora Diaz",
        "Journey stage": "lifecycle: Onboarding",
        "Overdue": "no",
        "Note": "Campaign cannot launch without it.\nSecond line, with a comma.",
    }
    late = rows["late-one"]
    assert late["Provider (squad)"] == "Product-led Growth"
    assert late["Needed by (initiative)"] == "" and late["Provider (initiative)"] == ""
    assert late["Overdue"] == "yes" and late["Status"] == "Accepted"
    assert late["Due"] == (TODAY - dt.timedelta(days=5)).isoformat()
    assert late["Owner"] == "" and late["Journey stage"] == ""
    hiring = rows["csm-hiring"]
    assert hiring["Provider (function)"] == "People" and hiring["Provider (squad)"] == ""
    assert hiring["Status"] == "Done" and hiring["Overdue"] == "no"


def test_the_csv_applies_the_boards_filters(client, deps, carol, stage):
    client.force_login(carol)

    def keys(**params) -> list[str]:
        return sorted(row["Key"] for row in read_csv(client.get(csv_url(**params))))

    assert keys(to="product-led") == ["late-one", "messaging"]
    assert keys(to="function:People") == ["csm-hiring"]
    assert keys(status="open") == ["late-one", "messaging"]
    assert keys(status="done") == ["csm-hiring"]
    assert keys(overdue="on") == ["late-one"]
    assert keys(blocking="on") == ["csm-hiring", "messaging"]
    assert keys(stage="lifecycle/onboarding") == ["messaging"]
    assert keys(within="31") == ["messaging"]
    assert keys(dep="csm-hiring") == ["csm-hiring"]
    assert keys(**{"from": "product-led"}) == []
    # A filter that makes no sense is left out, as on the board.
    assert keys(within="-3") == ["csm-hiring", "late-one", "messaging"]


def test_the_csv_has_every_page_in_the_boards_order(client, needing, providing, carol):
    Dependency.objects.bulk_create(
        Dependency(
            key=f"d{n:03}",
            from_squad=needing,
            to_squad=providing if n % 2 else None,
            to_function="" if n % 2 else "Legal",
            what=f"Thing {n}",
            due=TODAY + dt.timedelta(days=120 - n),
        )
        for n in range(120)
    )
    client.force_login(carol)
    exported = [row["Key"] for row in read_csv(client.get(csv_url(page=2)))]
    assert len(exported) == 120  # not the board's 50 rows of page 2
    # Grouped by provider (Legal before Product-led Growth), then by due date.
    legal = [f"d{n:03}" for n in range(120) if n % 2 == 0][::-1]
    product = [f"d{n:03}" for n in range(120) if n % 2][::-1]
    assert exported == legal + product
    by_date = [row["Key"] for row in read_csv(client.get(csv_url(group="none")))]
    assert by_date == [f"d{n:03}" for n in range(120)][::-1]


def test_the_csv_keeps_to_the_current_cycle(client, deps, carol):
    later = Cycle.objects.create(
        key="fy2028", name="FY2028", starts=dt.date(2028, 1, 1), ends=dt.date(2028, 12, 31)
    )
    other = f.squad("next-year", dri=carol, cycle=later)
    Dependency.objects.create(
        key="next", from_squad=other, to_function="Legal", what="Contract review", due=TODAY
    )
    client.force_login(carol)
    assert "next" not in [row["Key"] for row in read_csv(client.get(csv_url()))]
    client.post(reverse("cycle_select"), {"cycle": "fy2028", "next": "/"})
    assert [row["Key"] for row in read_csv(client.get(csv_url()))] == ["next"]


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://example.com","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_csv_cells_that_would_run_as_formulas_are_defused(client, needing, carol, text):
    Dependency.objects.create(
        key="evil", from_squad=needing, to_function="Legal", what=text, note=text, due=TODAY
    )
    client.force_login(carol)
    (row,) = read_csv(client.get(csv_url()))
    assert row["What"] == "'" + text
    assert row["Note"] == "'" + text
    assert csv_safe("Plain words") == "Plain words"
    assert csv_safe("1-2 weeks") == "1-2 weeks"


def test_exports_need_a_signed_in_person_and_refuse_posts(client, deps, carol):
    for url in (csv_url(), xlsx_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    client.force_login(carol)
    assert client.post(csv_url()).status_code == 405
    assert client.post(xlsx_url()).status_code == 405


# ---------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------


def test_the_xlsx_holds_every_row_with_real_dates_and_a_frozen_header(client, deps, carol):
    client.force_login(carol)
    sheet = read_xlsx(client.get(xlsx_url()))
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    # Widths set for every column, wider for the long text.
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEFGHIJKLMN"}
    assert all(w >= 10 for w in widths.values())
    assert widths["G"] > widths["H"]  # What is wider than Due
    assert sheet.auto_filter.ref == "A1:N4"

    rows = {row["Key"]: row for row in xlsx_rows(sheet)}
    assert set(rows) == {"messaging", "late-one", "csm-hiring"}
    messaging = rows["messaging"]
    assert messaging["Due"] == dt.datetime.combine(TODAY + dt.timedelta(days=30), dt.time())
    assert messaging["Blocking"] is True and messaging["Overdue"] is False
    assert messaging["Needed by (initiative)"] == "In-app onboarding wizard"
    assert messaging["Provider (initiative)"] == "Assessment tool"
    assert messaging["Owner"] == "Dora Diaz"
    assert messaging["Journey stage"] == "lifecycle: Onboarding"
    assert messaging["Note"] == "Campaign cannot launch without it.\nSecond line, with a comma."
    assert rows["late-one"]["Overdue"] is True
    assert rows["csm-hiring"]["Provider (function)"] == "People"

    due = HEADERS.index("Due") + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=due, max_col=due):
        assert cell.is_date
        assert cell.number_format == "yyyy-mm-dd"


def test_the_xlsx_applies_the_filters_and_stores_formulas_as_text(client, deps, needing, carol):
    Dependency.objects.create(
        key="evil",
        from_squad=needing,
        to_function="Legal",
        what="=1+1",
        note="bell\x07 in the note",
        due=TODAY,
    )
    client.force_login(carol)
    sheet = read_xlsx(client.get(xlsx_url(to="function:Legal")))
    (row,) = xlsx_rows(sheet)
    assert row["Key"] == "evil"
    assert row["What"] == "=1+1"
    assert sheet["G2"].data_type == "s"  # text, not a formula
    assert row["Note"] == "bell in the note"  # control characters Excel refuses are dropped
    keys = sorted(r["Key"] for r in xlsx_rows(read_xlsx(client.get(xlsx_url(blocking="on")))))
    assert keys == ["csm-hiring", "messaging"]


# ---------------------------------------------------------------------------------------
# Cost and the board's links
# ---------------------------------------------------------------------------------------


def _bulk(needing, providing, wizard, dora, count: int) -> None:
    Dependency.objects.bulk_create(
        Dependency(
            key=f"bulk-{n}",
            from_initiative=wizard if n % 2 else None,
            from_squad=None if n % 2 else needing,
            to_squad=providing,
            what=f"Thing {n}",
            due=TODAY + dt.timedelta(days=n),
            owner=dora if n % 3 else None,
        )
        for n in range(count)
    )


def _queries(client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        body = b"".join(response.streaming_content)
    return len(queries), body


def test_an_export_costs_the_same_queries_for_3_or_300_rows(
    client, needing, providing, wizard, dora, carol
):
    client.force_login(carol)
    _bulk(needing, providing, wizard, dora, 3)
    # The first page after a change of cycles reads them once (core.cycles); not measured.
    client.get(csv_url())
    small_csv, _ = _queries(client, csv_url())
    small_xlsx, _ = _queries(client, xlsx_url())
    _bulk_more = [
        Dependency(
            key=f"more-{n}",
            from_initiative=wizard,
            to_squad=providing,
            what=f"More {n}",
            due=TODAY,
            owner=dora,
        )
        for n in range(297)
    ]
    Dependency.objects.bulk_create(_bulk_more)
    large_csv, body = _queries(client, csv_url())
    assert body.count(b"\n") == 301  # header and 300 rows
    large_xlsx, _ = _queries(client, xlsx_url())
    assert large_csv == small_csv
    assert large_xlsx == small_xlsx
    assert large_csv <= 12


def test_the_board_links_the_downloads_with_its_filters(client, deps, carol):
    client.force_login(carol)
    content = client.get(
        reverse("board:board") + "?to=product-led&blocking=on&group=month&page=1"
    ).content.decode()
    csv_link = re.search(r'<a [^>]*href="([^"]*)"[^>]*>Download CSV</a>', content)
    xlsx_link = re.search(r'<a [^>]*href="([^"]*)"[^>]*>Download Excel</a>', content)
    assert csv_link and xlsx_link
    query = "?to=product-led&amp;blocking=on&amp;group=month"
    assert csv_link.group(1) == reverse("board:export_csv") + query
    assert xlsx_link.group(1) == reverse("board:export_xlsx") + query
    # Followed, the link gives what the board shows.
    href = csv_link.group(1).replace("&amp;", "&")
    assert [row["Key"] for row in read_csv(client.get(href))] == ["messaging"]


# ---------------------------------------------------------------------------------------
# Streamed as they are written
# ---------------------------------------------------------------------------------------


def _built_whole(data, out) -> None:
    """The Excel file as it was built before it was streamed: the whole workbook saved by
    openpyxl, then sent. The streamed file must hold the same cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from dependencies.exports import COLUMNS, DATE_COLUMNS, DATE_FORMAT

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title="Dependencies")
    for index, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    header = []
    for name in HEADERS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    date_cell = WriteOnlyCell(ws)
    date_cell.number_format = DATE_FORMAT
    count = 0
    for row in data:
        values: list = []
        for index, value in enumerate(row):
            if index in DATE_COLUMNS:
                value = WriteOnlyCell(ws, value=value)
                value._style = date_cell._style
            elif isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                if value.startswith("="):
                    value = WriteOnlyCell(ws, value=value)
                    value.data_type = "s"
            values.append(value)
        ws.append(values)
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    wb.save(out)


def _cells(sheet) -> list[list[tuple]]:
    return [
        [(c.value, c.data_type, c.number_format, c.font.b) for c in row]
        for row in sheet.iter_rows()
    ]


def test_the_streamed_xlsx_holds_the_cells_the_whole_file_held(
    client, deps, needing, providing, wizard, dora, carol, monkeypatch
):
    client.force_login(carol)
    _bulk(needing, providing, wizard, dora, 40)
    Dependency.objects.filter(key="more-3").update(
        what='=HYPERLINK("http://x")', note="  spaced \x07 bell  "
    )
    Dependency.objects.filter(key="more-4").update(
        what="A & B <c> > d", note="line one\r\nline two, ünïcode – 😀"
    )
    Dependency.objects.filter(key="more-5").update(what="+1 -2 @3", note="   ")
    from dependencies import exports

    # The rows the view reads, kept to build the whole file from the same values.
    read: list[list] = []
    rows = exports.rows

    def recording(qs, today):
        for row in rows(qs, today):
            read.append(row)
            yield row

    monkeypatch.setattr(exports, "rows", recording)
    streamed = read_xlsx(client.get(xlsx_url()))
    whole = io.BytesIO()
    _built_whole(read, whole)
    reference = load_workbook(whole).active
    assert len(read) == len(deps) + 40
    assert _cells(streamed) == _cells(reference)
    assert streamed.freeze_panes == reference.freeze_panes == "A2"
    assert streamed.auto_filter.ref == reference.auto_filter.ref == f"A1:N{len(read) + 1}"
    assert {k: d.width for k, d in streamed.column_dimensions.items()} == {
        k: d.width for k, d in reference.column_dimensions.items()
    }


def test_the_xlsx_download_starts_before_the_rows_are_read(client, deps, carol):
    client.force_login(carol)
    response = client.get(xlsx_url())
    assert response.streaming
    with CaptureQueriesContext(connection) as queries:
        first = next(iter(response.streaming_content))
    # A zip archive's first part begins with its local header, sent before any row query.
    assert first.startswith(b"PK\x03\x04")
    assert not [q for q in queries.captured_queries if "dependencies_dependency" in q["sql"]]
    rest = b"".join(response.streaming_content)
    workbook = load_workbook(io.BytesIO(first + rest))
    assert workbook.active.max_row == len(deps) + 1


@pytest.mark.parametrize("url", [csv_url, xlsx_url])
def test_a_hostile_filter_cannot_make_an_export_larger_than_the_board(
    client, needing, providing, wizard, dora, carol, url
):
    """Filters only narrow: unknown values, repeated parameters and absurd numbers are
    left out, and no filter joins a dependency to more than one row."""
    client.force_login(carol)
    _bulk(needing, providing, wizard, dora, 30)
    hostile = (
        url(
            **{
                "from": "' OR 1=1 --",
                "within": "9" * 40,
                "group": "dependency,dependency",
                "page": "-1",
                "status": "all",
                "stage": "x/" * 500,
            }
        )
        + "&to=product-led" * 200
    )
    response = client.get(hostile)
    if url is csv_url:
        keys = [row["Key"] for row in read_csv(response)]
    else:
        keys = [row["Key"] for row in xlsx_rows(read_xlsx(response))]
    assert len(keys) == len(set(keys)) <= 30
