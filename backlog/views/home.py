"""The home page: what is waiting for the signed-in person, their products, then the
organisation's. Thin: the reads live in ``backlog.home``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backlog.home import home_for
from customers.permissions import membership_or_404


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    return render(
        request, "backlog/home.html", {"home": home_for(user=request.user, membership=membership)}
    )
