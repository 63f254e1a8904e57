from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from journeys.models import Journey


@login_required
def journey_list(request: HttpRequest) -> HttpResponse:
    journeys = Journey.objects.prefetch_related("stages")
    return render(request, "journeys/list.html", {"journeys": journeys, "nav": "journeys"})


@login_required
def journey_detail(request: HttpRequest, key: str) -> HttpResponse:
    journey = get_object_or_404(Journey, key=key)
    return render(request, "journeys/detail.html", {"journey": journey, "nav": "journeys"})
