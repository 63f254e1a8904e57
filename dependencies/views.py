from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "dependencies/board.html", {"nav": "board"})


@login_required
def graph(request: HttpRequest) -> HttpResponse:
    return render(request, "dependencies/graph.html", {"nav": "graph"})
