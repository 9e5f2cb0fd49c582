"""Who may do what on a product. Views call these before doing any work.

An archived product is read-only: every loader here refuses it (403, ``ARCHIVED_MESSAGE``)
for a write, which is a load with ``write``/``reorder`` or any load during a request that
is not a GET, HEAD or OPTIONS (``WriteRequestMiddleware`` marks those). So the pages, the
API and the prioritisation pages that load through here need no check of their own, and a
write view added later is covered without remembering to ask.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from backlog import selectors
from backlog.models import ITEM_EDITOR_ROLES, BacklogItem, Product, ProductRoleKind, ShowAndTell
from backlog.services.products import ARCHIVED_MESSAGE
from customers.models import Organisation
from customers.permissions import membership_or_404
from customers.selectors import membership_for_user

_WRITE_REQUEST: ContextVar[bool] = ContextVar("write_request", default=False)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteRequestMiddleware:
    """Marks a request that may change something (any method but GET, HEAD, OPTIONS), for
    the loaders below to refuse an archived product."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _WRITE_REQUEST.set(request.method not in SAFE_METHODS)
        try:
            return self.get_response(request)
        finally:
            _WRITE_REQUEST.reset(token)


def is_write_request() -> bool:
    return _WRITE_REQUEST.get()


def require_writable(product: Product) -> None:
    """403 for any change to an archived product: it is kept read-only until restored."""
    if product.archived_at is not None:
        raise PermissionDenied(ARCHIVED_MESSAGE)


def organisation_or_404(user: AbstractBaseUser) -> Organisation:
    return membership_or_404(user).organisation


def _holds_any(user: AbstractBaseUser, product: Product, roles: frozenset[str]) -> bool:
    """Whether the user is an admin of the product's organisation or holds one of ``roles``."""
    membership = membership_for_user(user)
    if membership is None or membership.organisation_id != product.organisation_id:
        return False
    if membership.is_admin:
        return True
    return bool(selectors.product_roles_for_user(product=product, user=user) & roles)


def can_edit_items(user: AbstractBaseUser, product: Product) -> bool:
    """Whether the pages offer item changes; never on an archived product."""
    return product.archived_at is None and _holds_any(user, product, ITEM_EDITOR_ROLES)


def can_reorder(user: AbstractBaseUser, product: Product) -> bool:
    """The manual order is the product owner's (or an organisation admin's) to set; an
    archived product's is no one's."""
    return product.archived_at is None and _holds_any(
        user, product, frozenset({ProductRoleKind.PRODUCT_OWNER})
    )


def _check_may_act(user: AbstractBaseUser, product: Product, *, write: bool, reorder: bool) -> None:
    if write or reorder or is_write_request():
        require_writable(product)
    if write and not can_edit_items(user, product):
        raise PermissionDenied("Your role on this product does not allow changes.")
    if reorder and not can_reorder(user, product):
        raise PermissionDenied("Only the product owner can change the order of the backlog.")


def product_for_user(
    user: AbstractBaseUser, pk: int, *, write: bool = False, reorder: bool = False
) -> Product:
    """The product if the user's organisation owns it (else 404) and, for a write, the
    user holds an editing role on it, or for a reorder is its product owner (else 403)."""
    product = selectors.product_get(organisation=organisation_or_404(user), pk=pk)
    if product is None:
        raise Http404("No such product.")
    _check_may_act(user, product, write=write, reorder=reorder)
    return product


def item_for_user(
    user: AbstractBaseUser,
    pk: int,
    *,
    write: bool = False,
    reorder: bool = False,
    related: bool = True,
) -> BacklogItem:
    """As ``product_for_user``, for an item (404 for another organisation's); ``related``
    as ``selectors.item_get``."""
    item = selectors.item_get(organisation=organisation_or_404(user), pk=pk, related=related)
    if item is None:
        raise Http404("No such item.")
    _check_may_act(user, item.product, write=write, reorder=reorder)
    return item


def product_people_roles(user: AbstractBaseUser, product: Product) -> frozenset[str]:
    """The user's roles on the product, if they are its people (any role on it) or an
    organisation admin; anyone else in the organisation gets 403 (show-and-tell pages)."""
    roles = selectors.product_roles_for_user(product=product, user=user)
    if not roles and not membership_for_user(user).is_admin:
        raise PermissionDenied("Only the product's people can see its show-and-tells.")
    return roles


def session_for_user(user: AbstractBaseUser, pk: int) -> tuple[ShowAndTell, frozenset[str]]:
    """A show-and-tell of the user's organisation (else 404) that they may see (else 403),
    with their roles on its product."""
    session = (
        ShowAndTell.objects.select_related(
            "product", "product__organisation", "next_up_confirmed_by"
        )
        .filter(pk=pk, product__organisation=organisation_or_404(user))
        .first()
    )
    if session is None:
        raise Http404("No such show-and-tell.")
    roles = product_people_roles(user, session.product)
    if is_write_request():
        require_writable(session.product)
    return session, roles
