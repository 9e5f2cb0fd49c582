"""Writes for products and their people: create, edit, archive and restore a product, and
grant or revoke its roles. Each service owns its transaction.

Locks: a role change or a settings change locks the product row first
(``backlog.locks.lock_product``), the same first lock every backlog write takes. So two
people revoking the last two product owners at once are served one after the other, and the
second sees the first's revocation and is refused; and an archive waits for a write already
under way, and a write that starts after it sees the product archived.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from backlog.locks import lock_product
from backlog.models import NewItemPosition, Product, ProductKind, ProductRole, ProductRoleKind
from customers.models import Membership, Organisation

ARCHIVED_MESSAGE = (
    "This product is archived: it is kept read-only, so nothing in it can be changed. "
    "An organisation admin can restore it."
)
LAST_OWNER_MESSAGE = (
    "A product always keeps at least one product owner: make someone else its product owner "
    "first, then remove this one."
)
NOT_A_MEMBER_MESSAGE = "Only active members of the product's organisation can hold its roles."
ADMINS_ONLY_MESSAGE = "Only organisation admins can archive or restore a product."

# The settings a person edits, in the order the form shows them.
SETTINGS = (
    "name",
    "description",
    "kind",
    "weekly_capacity",
    "show_and_tell_weekday",
    "new_items_position",
)


def _active_membership(user: AbstractBaseUser, organisation_id: int) -> Membership | None:
    """The user's membership if it is an active one in this organisation, else None."""
    membership = Membership.objects.filter(
        user_id=user.pk, organisation_id=organisation_id, deactivated_at__isnull=True
    ).first()
    if membership is None or not user.is_active:
        return None
    return membership


def _check_name_free(*, organisation_id: int, name: str, exclude_pk: int | None = None) -> None:
    """Names are unique per organisation; "Repairs" and "repairs" are one name to people."""
    taken = Product.objects.filter(organisation_id=organisation_id, name__iexact=name.strip())
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(
            {"name": f"Your organisation already has a product called “{name.strip()}”."}
        )


def _clean(product: Product) -> None:
    """Field rules first (the model's own messages), then the name's uniqueness in words."""
    product.name = product.name.strip()
    product.full_clean(validate_constraints=False, exclude=["organisation"])
    _check_name_free(
        organisation_id=product.organisation_id, name=product.name, exclude_pk=product.pk
    )


def _save_name_race(product: Product, **save_kwargs) -> None:
    """Save, turning a duplicate name that slipped in between the check and the write (two
    people creating the same name at once) into the same message as the check's."""
    try:
        with transaction.atomic():
            product.save(**save_kwargs)
    except IntegrityError as error:
        if "product_unique_name_per_organisation" not in str(error):
            raise
        raise ValidationError(
            {"name": f"Your organisation already has a product called “{product.name}”."}
        ) from error


def product_create(
    *,
    organisation: Organisation,
    name: str,
    description: str = "",
    kind: str = ProductKind.PRODUCT,
    weekly_capacity: int = 20,
    show_and_tell_weekday: int = 4,
    new_items_position: str = NewItemPosition.BOTTOM,
    owner: AbstractBaseUser | None = None,
) -> Product:
    """Create a product; ``owner`` (the person creating it, or the one they name) becomes
    its product owner in the same transaction, so a product made on a page is never without
    one. ``owner`` must be an active member of the organisation. Commands and benches that
    grant roles afterwards may leave it out.

    On a ``ValidationError`` nothing is saved."""
    product = Product(
        organisation=organisation,
        name=name,
        description=description,
        kind=kind,
        weekly_capacity=weekly_capacity,
        show_and_tell_weekday=show_and_tell_weekday,
        new_items_position=new_items_position,
    )
    _clean(product)
    if owner is not None and _active_membership(owner, organisation.pk) is None:
        raise ValidationError({"owner": NOT_A_MEMBER_MESSAGE})
    with transaction.atomic():
        _save_name_race(product)
        if owner is not None:
            ProductRole.objects.create(
                product=product, user=owner, role=ProductRoleKind.PRODUCT_OWNER
            )
    return product


def product_update(
    *,
    product: Product,
    name: str,
    description: str,
    kind: str,
    weekly_capacity: int,
    show_and_tell_weekday: int,
    new_items_position: str,
) -> Product:
    """Change a product's settings. An archived product is refused. On a
    ``ValidationError`` nothing is saved and ``product`` is left as it was."""
    new = {
        "name": name,
        "description": description,
        "kind": kind,
        "weekly_capacity": weekly_capacity,
        "show_and_tell_weekday": show_and_tell_weekday,
        "new_items_position": new_items_position,
    }
    with transaction.atomic():
        # The locked row, not the caller's copy: a failed edit leaves ``product`` alone and
        # a concurrent change to other fields (scoring settings) is not overwritten.
        current = lock_product(product.pk)
        if current is None:
            raise ValidationError("This product no longer exists.")
        if current.archived_at is not None:
            raise ValidationError(ARCHIVED_MESSAGE)
        for field, value in new.items():
            setattr(current, field, value)
        _clean(current)
        _save_name_race(current, update_fields=list(SETTINGS))
    for field in SETTINGS:
        setattr(product, field, getattr(current, field))
    return product


def _check_admin(by: AbstractBaseUser, product: Product) -> None:
    membership = _active_membership(by, product.organisation_id)
    if membership is None or not membership.is_admin:
        raise ValidationError(ADMINS_ONLY_MESSAGE)


def product_archive(*, product: Product, by: AbstractBaseUser) -> Product:
    """Archive a product (organisation admins only): it becomes read-only and leaves the
    home page and the organisation's lists; its data is kept. Archiving an archived
    product changes nothing."""
    _check_admin(by, product)
    with transaction.atomic():
        current = lock_product(product.pk)
        if current is None:
            raise ValidationError("This product no longer exists.")
        if current.archived_at is None:
            current.archived_at = timezone.now()
            current.save(update_fields=["archived_at"])
    product.archived_at = current.archived_at
    return product


def product_restore(*, product: Product, by: AbstractBaseUser) -> Product:
    """Restore an archived product (organisation admins only): it can be changed again and
    is back on the home page. Restoring a product that is not archived changes nothing."""
    _check_admin(by, product)
    with transaction.atomic():
        current = lock_product(product.pk)
        if current is None:
            raise ValidationError("This product no longer exists.")
        if current.archived_at is not None:
            current.archived_at = None
            current.save(update_fields=["archived_at"])
    product.archived_at = None
    return product


def _lock_writable(product: Product) -> Product:
    current = lock_product(product.pk)
    if current is None:
        raise ValidationError("This product no longer exists.")
    if current.archived_at is not None:
        raise ValidationError(ARCHIVED_MESSAGE)
    return current


def _check_role(role: str) -> None:
    if role not in ProductRoleKind.values:
        raise ValidationError(f"“{role}” is not a product role.")


def _grant(product: Product, user: AbstractBaseUser, role: str) -> tuple[ProductRole, bool]:
    _check_role(role)
    if _active_membership(user, product.organisation_id) is None:
        raise ValidationError(NOT_A_MEMBER_MESSAGE)
    return ProductRole.objects.get_or_create(product=product, user=user, role=role)


def _revoke(product: Product, user: AbstractBaseUser, role: str) -> bool:
    """Remove the role; refuse to remove the product's last active product owner. The
    caller holds the product row lock, so the count cannot change under it."""
    _check_role(role)
    held = ProductRole.objects.filter(product=product, user_id=user.pk, role=role)
    if not held.exists():
        return False
    if role == ProductRoleKind.PRODUCT_OWNER:
        others = (
            ProductRole.objects.filter(
                product=product,
                role=ProductRoleKind.PRODUCT_OWNER,
                user__is_active=True,
                user__membership__organisation_id=product.organisation_id,
                user__membership__deactivated_at__isnull=True,
            )
            .exclude(user_id=user.pk)
            .exists()
        )
        if not others:
            raise ValidationError(LAST_OWNER_MESSAGE, code="last_owner")
    held.delete()
    return True


def product_role_grant(*, product: Product, user: AbstractBaseUser, role: str) -> ProductRole:
    """Give ``user`` the role on the product (nothing changes if they hold it). The user must
    be an active member of the product's organisation; an archived product is refused."""
    with transaction.atomic():
        current = _lock_writable(product)
        grant, _created = _grant(current, user, role)
    return grant


def product_role_revoke(*, product: Product, user: AbstractBaseUser, role: str) -> bool:
    """Take the role away (False if they did not hold it). The last active product owner
    cannot be removed (``ValidationError`` with code ``last_owner``); an archived product
    is refused."""
    with transaction.atomic():
        current = _lock_writable(product)
        return _revoke(current, user, role)


@dataclass(frozen=True)
class RoleChange:
    """One cell of the people × roles matrix: whether ``user`` should hold ``role``."""

    user: AbstractBaseUser
    role: str
    held: bool


@dataclass(frozen=True)
class RoleChanges:
    granted: int
    revoked: int


def product_roles_set(*, product: Product, changes: Iterable[RoleChange]) -> RoleChanges:
    """Apply many cells at once (the people page without JavaScript), all or nothing.

    Grants go first, so handing the product over (tick the new owner, untick the old one)
    in one save never passes through a product with no owner."""
    changes = list(changes)
    granted = revoked = 0
    with transaction.atomic():
        current = _lock_writable(product)
        for change in changes:
            if change.held:
                granted += _grant(current, change.user, change.role)[1]
        for change in changes:
            if not change.held:
                revoked += _revoke(current, change.user, change.role)
    return RoleChanges(granted=granted, revoked=revoked)
