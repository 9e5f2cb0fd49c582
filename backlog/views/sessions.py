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
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from backlog.digest import digest_recipients, recipients_phrase
from backlog.models import GO_LIVE_ROLES, BacklogItem, ItemStatus, ProductRoleKind, ShowAndTell
from backlog.permissions import product_for_user, product_people_roles, session_for_user
from backlog.services import sessions as services
from backlog.showandtell import (
    SECTION_TITLES,
    SECTIONS,
    go_live_row,
    session_sections,
    waiting_counts,
    waiting_for_role,
    went_live,
    window,
)
from config.http import int_param, redirect_back


@login_required
@require_GET
def session_list(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    roles = product_people_roles(request.user, product)
    history = ShowAndTell.objects.filter(product=product).annotate(
        decision_count=Count("decisions")
    )
    today = services.local_today(product)
    this_week = ShowAndTell.objects.filter(
        product=product, week_start=services.week_start_of(today)
    ).first()
    return render(
        request,
        "backlog/session_list.html",
        {
            "product": product,
            "sessions": history,
            "can_start": ProductRoleKind.DELIVERY_LEAD in roles,
            "today": today,
            "this_week": this_week,
            "next_week_day": services.next_week_day(product, today),
        },
    )


@login_required
@require_POST
def session_start(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    roles = product_people_roles(request.user, product)
    if ProductRoleKind.DELIVERY_LEAD not in roles:
        raise PermissionDenied("Only the delivery lead starts a show-and-tell.")
    today = services.local_today(product)
    if request.POST.get("week") == "next":
        day = services.next_week_day(product, today)
    else:
        day = today
        current = ShowAndTell.objects.filter(
            product=product, week_start=services.week_start_of(today)
        ).first()
        if current is not None and current.finished_at is not None:
            # A page from before the finish: say so, rather than reopen the finished record.
            messages.info(
                request,
                f"This week's session ({current.date:%A} {current.date.day} {current.date:%B}) "
                "is finished. You can start next week's instead.",
            )
            return redirect("backlog:session_list", pk=product.pk)
    session, _ = services.session_for_week(product=product, day=day, actor=request.user)
    return redirect("backlog:session_detail", pk=session.pk)


def _context(session: ShowAndTell, roles: frozenset[str], *, only: str | None = None) -> dict:
    read_only = session.finished_at is not None
    context = {
        "session": session,
        "product": session.product,
        "my_roles": roles,
        "people": get_user_model()
        .objects.filter(product_roles__product=session.product)
        .distinct(),
        "read_only": read_only,
        **session_sections(session, only=only),
    }
    if not read_only and only in (None, "golive"):
        context["waiting_for_me"] = waiting_counts(session, roles)
    if not read_only and only is None and ProductRoleKind.DELIVERY_LEAD in roles:
        context["digest_to"] = recipients_phrase(digest_recipients(session))
    return context


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


def _item_back(request: HttpRequest, session: ShowAndTell, item: BacklogItem) -> HttpResponse:
    """After a signature or a withdrawal: for htmx, the item's own block with what happened
    said in it (where the person is looking), and "Live this week" updated beside it."""
    if not request.htmx:
        return redirect_back(request, "backlog:session_detail", pk=session.pk)
    roles = product_people_roles(request.user, session.product)
    item.refresh_from_db(fields=["status"])
    context = {
        "session": session,
        "product": session.product,
        "my_roles": roles,
        "read_only": session.finished_at is not None,
        "row": go_live_row(session, item.pk),
        "row_live": item.status == ItemStatus.LIVE,
        "item_fragment": True,
        "waiting_for_me": waiting_counts(session, roles),
    }
    if context["row_live"]:
        context["went_live"] = went_live(session, window(session))
    return render(request, "backlog/session_detail.html#golive-item", context)


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
            request,
            f"“{item.title}” is live — all four signed." if live else f"Signed for “{item.title}”.",
        )
    return _item_back(request, session, item)


@login_required
@require_http_methods(["GET", "POST"])
def go_live_sign_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign every item waiting for one's role in one step: first the list (GET), then one
    POST of exactly the items listed, signed in one transaction."""
    session, roles = session_for_user(request.user, pk)
    held = [r for r in GO_LIVE_ROLES if r.value in roles]
    if not held:
        raise PermissionDenied(
            "Only the sponsor, business analyst, lead engineer and delivery lead sign."
        )
    if session.finished_at is not None:
        raise PermissionDenied("This session is finished: it is a read-only record.")
    if request.method == "GET":
        lists = [
            {"role": r.value, "label": r.label, "items": waiting_for_role(session, r.value)}
            for r in held
        ]
        return render(
            request,
            "backlog/session_sign_all.html",
            {"session": session, "product": session.product, "lists": lists},
        )
    role = request.POST.get("role") or held[0].value
    if role not in {r.value for r in held}:
        raise PermissionDenied(
            "You do not hold this role on the product, so you cannot sign for it."
        )
    ids = [i for i in (int_param(v) for v in request.POST.getlist("item")) if i is not None]
    if not ids:
        messages.info(request, "Nothing was waiting for your signature.")
        return redirect("backlog:session_detail", pk=session.pk)
    try:
        live = services.go_live_sign_all(
            session=session, signer=request.user, role=role, item_ids=ids
        )
    except ValidationError as error:
        messages.error(
            request,
            "Nothing was signed: " + " ".join(error.messages) + " Here is the list as it is now.",
        )
        return redirect("backlog:go_live_sign_all", pk=session.pk)
    label = ProductRoleKind(role).label.lower()
    count = len(set(ids))
    text = f"Signed {count} item{pluralize(count)} as the {label}."
    if live:
        titles = ", ".join(f"“{item.title}”" for item in live)
        text += f" Live — all four signed: {titles}."
    messages.success(request, text)
    return redirect(reverse("backlog:session_detail", args=[session.pk]) + "#section-golive")


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
    return _item_back(request, session, item)


@login_required
@require_http_methods(["GET", "POST"])
def session_finish(request: HttpRequest, pk: int) -> HttpResponse:
    """Finishing e-mails the digest to everyone on the product, so it asks first: the page's
    button asks in the browser (htmx's confirm, naming who gets it) and sends
    ``confirmed=yes``; without JavaScript, or a POST without it, this shows a confirm step
    naming the same people."""
    session, roles = session_for_user(request.user, pk)
    if ProductRoleKind.DELIVERY_LEAD not in roles:
        raise PermissionDenied("Only the delivery lead ends the session.")
    detail = reverse("backlog:session_detail", args=[session.pk])
    if session.finished_at is not None:
        messages.info(request, "This session is already finished.")
        return redirect(detail)
    recipients = digest_recipients(session)
    if request.method == "GET" or request.POST.get("confirmed") != "yes":
        return render(
            request,
            "backlog/session_finish.html",
            {"session": session, "product": session.product, "recipients": recipients},
        )
    services.session_finish(session=session, actor=request.user)
    messages.success(
        request, f"Session finished; the digest is on its way to {recipients_phrase(recipients)}."
    )
    if request.htmx:
        return HttpResponseClientRedirect(detail)
    return redirect(detail)
