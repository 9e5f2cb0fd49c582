"""The weekly show-and-tell: history, the session page (each section a fragment),
presenter mode, and the actions taken in the room."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from backlog.models import GO_LIVE_ROLES, BacklogItem, ProductRoleKind, ShowAndTell
from backlog.permissions import product_for_user, product_people_roles, session_for_user
from backlog.services import sessions as services
from backlog.showandtell import SECTION_TITLES, SECTIONS, session_sections
from config.http import int_param, redirect_back


@login_required
@require_GET
def session_list(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    roles = product_people_roles(request.user, product)
    history = ShowAndTell.objects.filter(product=product).annotate(
        decision_count=Count("decisions")
    )
    return render(
        request,
        "backlog/session_list.html",
        {
            "product": product,
            "sessions": history,
            "can_start": ProductRoleKind.DELIVERY_LEAD in roles,
            "today": services.local_today(product),
        },
    )


@login_required
@require_POST
def session_start(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    roles = product_people_roles(request.user, product)
    if ProductRoleKind.DELIVERY_LEAD not in roles:
        raise PermissionDenied("Only the delivery lead starts a show-and-tell.")
    session, _ = services.session_for_week(
        product=product, day=services.local_today(product), actor=request.user
    )
    return redirect("backlog:session_detail", pk=session.pk)


def _context(session: ShowAndTell, roles: frozenset[str], *, only: str | None = None) -> dict:
    return {
        "session": session,
        "product": session.product,
        "my_roles": roles,
        "people": get_user_model()
        .objects.filter(product_roles__product=session.product)
        .distinct(),
        "read_only": session.finished_at is not None,
        **session_sections(session, only=only),
    }


@login_required
@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session, roles = session_for_user(request.user, pk)
    section = request.GET.get("section")
    if request.htmx and section in SECTIONS:
        context = _context(session, roles, only=section)
        return render(request, f"backlog/session_detail.html#section-{section}", context)
    return render(request, "backlog/session_detail.html", _context(session, roles))


@login_required
@require_GET
def session_present(request: HttpRequest, pk: int) -> HttpResponse:
    """Presenter mode: one section per screen, large type; ← and → (or the links) page."""
    session, roles = session_for_user(request.user, pk)
    step = int_param(request.GET.get("step"), default=1, minimum=1, maximum=len(SECTIONS))
    context = _context(session, roles, only=SECTIONS[step - 1])
    context.update(
        {
            "step": step,
            "section": SECTIONS[step - 1],
            "section_title": SECTION_TITLES[SECTIONS[step - 1]],
            "steps": len(SECTIONS),
        }
    )
    return render(request, "backlog/session_present.html", context)


def _back(request: HttpRequest, session: ShowAndTell, section: str) -> HttpResponse:
    """After an action: the refreshed section for htmx, else back to where the person was."""
    if request.htmx:
        session.refresh_from_db()
        roles = product_people_roles(request.user, session.product)
        context = _context(session, roles, only=section)
        return render(request, f"backlog/session_detail.html#section-{section}", context)
    return redirect_back(request, "backlog:session_detail", pk=session.pk)


@login_required
@require_POST
def next_up_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    session, roles = session_for_user(request.user, pk)
    if not roles & {r.value for r in GO_LIVE_ROLES}:
        raise PermissionDenied("Only the four go-live roles confirm what is next.")
    try:
        services.next_up_confirm(session=session, actor=request.user)
        messages.success(request, "Next up is confirmed and frozen with this session.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _back(request, session, "next")


@login_required
@require_POST
def decision_add(request: HttpRequest, pk: int) -> HttpResponse:
    session, roles = session_for_user(request.user, pk)
    if not roles & ({r.value for r in GO_LIVE_ROLES} | {ProductRoleKind.PRODUCT_OWNER}):
        raise PermissionDenied("Only the session's leads record decisions.")
    people = {
        u.pk: u for u in get_user_model().objects.filter(product_roles__product=session.product)
    }
    owner = people.get(int_param(request.POST.get("owner")))
    agreed = [people[i] for i in map(int_param, request.POST.getlist("agreed_by")) if i in people]
    try:
        services.decision_add(
            session=session,
            actor=request.user,
            kind=request.POST.get("kind", ""),
            text=request.POST.get("text", ""),
            owner=owner,
            agreed_by=agreed,
        )
        messages.success(request, "Recorded.")
    except ValidationError as error:
        messages.error(request, "Not recorded: " + " ".join(error.messages))
    return _back(request, session, "decisions")


def _item_in_session(session: ShowAndTell, item_pk: int) -> BacklogItem:
    item = BacklogItem.objects.filter(pk=item_pk, product=session.product).first()
    if item is None:
        raise Http404("No such item in this product.")
    return item


@login_required
@require_POST
def go_live_sign(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """The signer is the signed-in user; the form only says which of their roles they sign
    for, and the service checks they hold it."""
    session, _roles = session_for_user(request.user, pk)
    item = _item_in_session(session, item_pk)
    role = request.POST.get("role", "")
    try:
        live = services.go_live_sign(item=item, signer=request.user, role=role, session=session)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"“{item.title}” is live." if live else f"Signed for “{item.title}”."
        )
    return _back(request, session, "golive")


@login_required
@require_POST
def go_live_withdraw(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    session, _roles = session_for_user(request.user, pk)
    item = _item_in_session(session, item_pk)
    try:
        services.go_live_withdraw(
            item=item, signer=request.user, role=request.POST.get("role", ""), session=session
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Withdrew your signature for “{item.title}”.")
    return _back(request, session, "golive")


@login_required
@require_POST
def session_finish(request: HttpRequest, pk: int) -> HttpResponse:
    session, roles = session_for_user(request.user, pk)
    if ProductRoleKind.DELIVERY_LEAD not in roles:
        raise PermissionDenied("Only the delivery lead ends the session.")
    services.session_finish(session=session, actor=request.user)
    messages.success(request, "Session finished; the digest is on its way to the product's people.")
    return redirect("backlog:session_detail", pk=session.pk)
