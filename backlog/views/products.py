"""Pages for products themselves: create (organisation admins), settings (admins and the
product's owner), archive and restore (admins), and the product's people: a people × roles
matrix that admins and product owners change a cell at a time (htmx) or all at once."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from backlog import selectors, services
from backlog.forms import ProductForm
from backlog.models import Product, ProductRoleKind
from backlog.permissions import product_for_user
from backlog.services.products import SETTINGS
from customers.permissions import membership_or_404, require_admin
from customers.selectors import membership_for_user

ADMINS_CREATE = "Only organisation admins can create products."
ADMINS_ARCHIVE = "Only organisation admins can archive or restore a product."
SETTINGS_WHO = "Only organisation admins and the product's owner can change its settings."
PEOPLE_WHO = "Only organisation admins and the product's owner can change who holds its roles."
PEOPLE_SEE = "Only the product's people and organisation admins can see who holds its roles."
# The matrix shows this many people at most; a search finds the others.
PEOPLE_SHOWN = 200
_CELL = re.compile(r"^cell-(\d+)-([a-z_]+)$")


def _is_admin(user) -> bool:
    membership = membership_for_user(user)
    return membership is not None and membership.is_admin


def _is_owner_or_admin(user, product: Product) -> bool:
    if _is_admin(user):
        return True
    roles = selectors.product_roles_for_user(product=product, user=user)
    return ProductRoleKind.PRODUCT_OWNER in roles


def _product_for_admin(request: HttpRequest, pk: int) -> Product:
    """The organisation's product, archived or not (else 404), for an admin (else 403)."""
    membership = membership_or_404(request.user)
    product = selectors.product_get(organisation=membership.organisation, pk=pk)
    if product is None:
        raise Http404("No such product.")
    require_admin(membership, ADMINS_ARCHIVE)
    return product


def _active_members(organisation_id: int):
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            membership__organisation_id=organisation_id,
            membership__deactivated_at__isnull=True,
        )
        .order_by("first_name", "last_name", "username")
    )


def _add_errors(form: ProductForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


def _settings(form: ProductForm) -> dict:
    data = form.cleaned_data
    return {field: data[field] for field in SETTINGS}


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, ADMINS_CREATE)
    organisation = membership.organisation
    form = ProductForm(
        request.POST or None,
        instance=Product(organisation=organisation),
        owners=_active_members(organisation.pk),
        initial={"owner": request.user.pk},
    )
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(
                organisation=organisation, owner=form.cleaned_data["owner"], **_settings(form)
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Created the product “{product.name}”.")
            return redirect("backlog:product_backlog", pk=product.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "backlog/product_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A product's settings; an archived product's page says so and offers no form."""
    product = product_for_user(request.user, pk)
    if not _is_owner_or_admin(request.user, product):
        raise PermissionDenied(SETTINGS_WHO)
    # The form cleans a copy: a refused edit leaves the page's heading and links as saved.
    form = ProductForm(request.POST or None, instance=copy.copy(product))
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, **_settings(form))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Saved the settings of “{product.name}”.")
            return redirect("backlog:product_backlog", pk=product.pk)
    status = 422 if request.method == "POST" else 200
    context = {"form": form, "product": product, "is_admin": _is_admin(request.user)}
    return render(request, "backlog/product_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def product_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """GET, or a POST without ``confirmed=yes``, is the confirmation step saying what
    archiving means; a confirmed POST archives."""
    product = _product_for_admin(request, pk)
    if product.archived_at is not None:
        messages.info(request, f"“{product.name}” is already archived.")
        return redirect("backlog:product_backlog", pk=product.pk)
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        services.product_archive(product=product, by=request.user)
        messages.success(
            request,
            f"Archived “{product.name}”: it is read-only and no longer on the home page. "
            "You can restore it from its page.",
        )
        return redirect("backlog:product_backlog", pk=product.pk)
    return render(request, "backlog/product_archive.html", {"product": product})


@login_required
@require_POST
def product_restore(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product_for_admin(request, pk)
    if product.archived_at is None:
        messages.info(request, f"“{product.name}” is not archived.")
    else:
        services.product_restore(product=product, by=request.user)
        messages.success(request, f"Restored “{product.name}”: it can be changed again.")
    return redirect("backlog:product_backlog", pk=product.pk)


@dataclass(frozen=True)
class Cell:
    role: str
    label: str
    name: str  # the checkbox's name and id: cell-<user id>-<role>
    checked: bool
    error: str = ""
    saved: bool = False


@dataclass(frozen=True)
class PersonRow:
    person: object
    cells: list[Cell]


def _row(person, held: frozenset[str], *, errors: dict[str, str] | None = None, saved: str = ""):
    """One person's row: a cell per role; ``errors`` by cell name, ``saved`` a cell name."""
    errors = errors or {}
    cells = []
    for role, label in ProductRoleKind.choices:
        name = f"cell-{person.pk}-{role}"
        cells.append(Cell(role, label, name, role in held, errors.get(name, ""), saved == name))
    return PersonRow(person, cells)


def _people_rows(
    product: Product, q: str, errors: dict[str, str] | None, *, holders_only: bool
) -> tuple[list, int]:
    rows = selectors.product_people(product=product)
    if holders_only:  # a reader sees who holds roles, not the whole organisation
        rows = [(person, held) for person, held in rows if held]
    q = q.strip().lower()
    if q:
        rows = [
            (person, held)
            for person, held in rows
            if q in f"{person.get_full_name()} {person.username} {person.email}".lower()
        ]
    shown = [_row(person, held, errors=errors) for person, held in rows[:PEOPLE_SHOWN]]
    return shown, len(rows)


def _people_context(
    request: HttpRequest,
    product: Product,
    *,
    can_change: bool,
    errors: dict[str, str] | None = None,
) -> dict:
    q = request.GET.get("q", "") if request.method == "GET" else request.POST.get("q", "")
    rows, total = _people_rows(product, q[:200], errors, holders_only=not can_change)
    return {
        "product": product,
        "rows": rows,
        "total": total,
        "shown_limit": PEOPLE_SHOWN,
        "q": q[:200],
        "roles": ProductRoleKind.choices,
        "can_change": can_change,
        "is_admin": _is_admin(request.user),
    }


def _may_see_people(request: HttpRequest, product: Product) -> bool:
    roles = selectors.product_roles_for_user(product=product, user=request.user)
    return bool(roles) or _is_admin(request.user)


@login_required
@require_http_methods(["GET", "POST"])
def product_people(request: HttpRequest, pk: int) -> HttpResponse:
    """Who holds which of the product's roles. Admins and the product's owners change it:
    with htmx one ticked or unticked box is one grant or revoke, answered with its row;
    without, the whole form posts and the page reloads. The product's other people read it."""
    product = product_for_user(request.user, pk)
    if not _may_see_people(request, product):
        raise PermissionDenied(PEOPLE_SEE)
    can_change = product.archived_at is None and _is_owner_or_admin(request.user, product)
    if request.method == "GET":
        context = _people_context(request, product, can_change=can_change)
        return render(request, "backlog/product_people.html", context)
    if not can_change:
        raise PermissionDenied(PEOPLE_WHO)
    if request.htmx and request.htmx.trigger_name:
        return _people_cell(request, product)
    return _people_form(request, product)


def _member_or_none(product: Product, user_id: int):
    return _active_members(product.organisation_id).filter(pk=user_id).first()


def _people_cell(request: HttpRequest, product: Product) -> HttpResponse:
    match = _CELL.match(request.htmx.trigger_name)
    if match is None or match.group(2) not in ProductRoleKind.values:
        return HttpResponseBadRequest("No such cell of the people table.")
    person = _member_or_none(product, int(match.group(1)))
    if person is None:
        return HttpResponseBadRequest("That person is not an active member of the organisation.")
    role = match.group(2)
    held = request.htmx.trigger_name in request.POST
    error = ""
    try:
        if held:
            services.product_role_grant(product=product, user=person, role=role)
        else:
            services.product_role_revoke(product=product, user=person, role=role)
    except ValidationError as refused:
        error = " ".join(refused.messages)
    request.user.__dict__.pop("_product_roles_cache", None)
    person.__dict__.pop("_product_roles_cache", None)
    roles = frozenset(
        product.roles.filter(user=person).values_list("role", flat=True)  # as saved now
    )
    can_change = _is_owner_or_admin(request.user, product)
    if not can_change:
        return HttpResponseClientRefresh()  # they gave up their own ownership: read-only now
    name = request.htmx.trigger_name
    context = {
        "product": product,
        "row": _row(
            person, roles, errors={name: error} if error else {}, saved="" if error else name
        ),
        "can_change": can_change,
    }
    return render(request, "backlog/product_people.html#person-row", context)


def _people_form(request: HttpRequest, product: Product) -> HttpResponse:
    """The whole matrix posted at once: the people it showed (``person``), each cell
    ticked or not. Only cells that differ from what is saved are changed, all or nothing."""
    try:
        shown = {int(value) for value in request.POST.getlist("person")[: PEOPLE_SHOWN * 2]}
    except ValueError:
        return HttpResponseBadRequest("The form named someone who is not a person.")
    people = {
        user.pk: user for user in _active_members(product.organisation_id).filter(pk__in=shown)
    }
    current = {person.pk: held for person, held in selectors.product_people(product=product)}
    changes = []
    for user_id, person in people.items():
        for role in ProductRoleKind.values:
            wanted = f"cell-{user_id}-{role}" in request.POST
            if wanted != (role in current.get(user_id, frozenset())):
                changes.append(services.RoleChange(user=person, role=role, held=wanted))
    try:
        done = services.product_roles_set(product=product, changes=changes)
    except ValidationError as refused:
        message = " ".join(refused.messages)
        errors = {}
        if refused.code == "last_owner":  # said beside the owner boxes that were unticked
            errors = {
                f"cell-{c.user.pk}-{c.role}": message
                for c in changes
                if c.role == ProductRoleKind.PRODUCT_OWNER and not c.held
            }
        context = _people_context(request, product, can_change=True, errors=errors)
        context["form_error"] = message
        return render(request, "backlog/product_people.html", context, status=422)
    messages.success(
        request,
        f"Saved: {done.granted} {'role' if done.granted == 1 else 'roles'} given, "
        f"{done.revoked} taken away.",
    )
    return redirect("backlog:product_people", pk=product.pk)
