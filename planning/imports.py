"""Import initiatives and dependencies from a spreadsheet: upload, preview, confirm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from planning import spreadsheet_import as sheets

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
SIGNING_SALT = "throughline.spreadsheet-import"
PREVIEW_MAX_AGE = 60 * 60  # seconds a preview stays confirmable


def _page(request, *, status=200, **context) -> HttpResponse:
    return render(request, "planning/import.html", {"nav": "import", **context}, status=status)


def _payload(request, rows) -> str:
    return signing.dumps({"user": request.user.pk, "rows": rows}, salt=SIGNING_SALT, compress=True)


def _rows_from(payload: dict) -> dict[str, list[tuple[int, dict]]]:
    return {kind: [(int(n), dict(row)) for n, row in rows] for kind, rows in payload.items()}


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, status=400, error="Choose a .csv or .xlsx file to upload.")
    if upload.size > MAX_UPLOAD_BYTES:
        return _page(
            request,
            status=400,
            error=f"The file is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1_048_576} MB.",
        )
    try:
        rows = sheets.read(upload.name, upload.read())
    except sheets.UnreadableFile as exc:
        return _page(request, status=400, error=str(exc), filename=upload.name)
    checked = sheets.check(rows, request.user)
    return _page(
        request,
        status=200 if checked.ok else 400,
        checked=checked,
        filename=upload.name,
        payload=_payload(request, rows) if checked.ok else "",
    )


@login_required
@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    try:
        data = signing.loads(
            request.POST.get("payload", ""), salt=SIGNING_SALT, max_age=PREVIEW_MAX_AGE
        )
    except signing.SignatureExpired:
        return _page(
            request, status=400, error="This preview is over an hour old; upload the file again."
        )
    except signing.BadSignature:
        return _page(request, status=400, error="This preview cannot be confirmed; upload again.")
    if data.get("user") != request.user.pk:
        return _page(request, status=400, error="This preview is someone else's; upload again.")
    rows = _rows_from(data["rows"])
    filename = request.POST.get("filename", "")[:200]
    try:
        checked = sheets.apply(rows, request.user)
    except sheets.Rejected as exc:
        return _page(
            request,
            status=409,
            checked=exc.checked,
            filename=filename,
            error="The plans changed since the preview: nothing was imported. Fix the rows "
            "below and upload again.",
        )
    created, updated = checked.count("create"), checked.count("update")
    messages.success(
        request,
        f"Imported {filename or 'the spreadsheet'}: {created} created, {updated} updated, "
        f"{checked.count('unchanged')} unchanged.",
    )
    return redirect("import")


@login_required
@require_GET
def template_xlsx(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        sheets.template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="throughline-import-template.xlsx"'
    return response


@login_required
@require_GET
def template_csv(request: HttpRequest, kind: str) -> HttpResponse:
    sheet = {"initiatives": sheets.INITIATIVES, "dependencies": sheets.DEPENDENCIES}.get(kind)
    if sheet is None:
        return HttpResponse("No such template.", status=404, content_type="text/plain")
    response = HttpResponse(sheets.template_csv(sheet), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="throughline-{kind}.csv"'
    return response
