"""The home page: what is waiting for the signed-in person, their products, then the
organisation's. Thin: the reads live in ``backlog.home``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backlog import selectors
from backlog.permissions import organisation_or_404


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    organisation = organisation_or_404(request.user)
    products = selectors.product_list(organisation=organisation)
    return render(request, "backlog/home.html", {"products": products})
