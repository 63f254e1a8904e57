"""Import initiatives and dependencies from a spreadsheet: upload, preview, confirm."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from planning import services
from planning import spreadsheet_import as sheets


def _page(request, *, status=200, **context) -> HttpResponse:
    return render(request, "planning/import.html", {"nav": "import", **context}, status=status)


def _rows_from(stored: dict) -> dict[str, list[tuple[int, dict]]]:
    return {kind: [(int(n), dict(row)) for n, row in rows] for kind, rows in stored.items()}


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, status=400, error="Choose a .csv or .xlsx file to upload.")
    filename = upload.name[:200]
    try:
        rows = sheets.read(filename, upload)
    except sheets.UnreadableFile as exc:
        return _page(request, status=400, error=str(exc), filename=filename)
    checked = sheets.check(rows, request.user)
    token = ""
    if checked.ok:
        token = services.staged_import_create(user=request.user, filename=filename, rows=rows)
    return _page(
        request,
        status=200 if checked.ok else 400,
        checked=checked,
        filename=filename,
        token=token,
    )


@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    try:
        stage = services.staged_import_take(user=request.user, token=request.POST.get("token", ""))
    except services.StageUnavailable as exc:
        return _page(request, status=400, error=str(exc))
    rows, filename = _rows_from(stage.rows), stage.filename
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


@require_GET
def template_xlsx(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        sheets.template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="throughline-import-template.xlsx"'
    return response


@require_GET
def template_csv(request: HttpRequest, kind: str) -> HttpResponse:
    sheet = {"initiatives": sheets.INITIATIVES, "dependencies": sheets.DEPENDENCIES}.get(kind)
    if sheet is None:
        return HttpResponse("No such template.", status=404, content_type="text/plain")
    response = HttpResponse(sheets.template_csv(sheet), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="throughline-{kind}.csv"'
    return response
