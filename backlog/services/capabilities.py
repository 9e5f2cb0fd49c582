"""Writes for the organisation's shared capabilities. Each service owns its transaction."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from backlog.models import Capability, Product
from customers.models import Organisation

NAME_TAKEN = "Your organisation already has a capability called “{name}”."


def _check(capability: Capability) -> None:
    """Refuse what the form would refuse, whoever calls: a name already used in the
    organisation (in any letter case), an owner product or a "same as" of another
    organisation, or a capability marked as the same as itself."""
    clashing = (
        Capability.objects.filter(
            organisation_id=capability.organisation_id, name__iexact=capability.name.strip()
        )
        .exclude(pk=capability.pk)
        .exists()
    )
    errors: dict[str, list[str]] = {}
    if clashing:
        errors["name"] = [NAME_TAKEN.format(name=capability.name.strip())]
    owner = capability.owner_product
    if owner is not None and owner.organisation_id != capability.organisation_id:
        errors["owner_product"] = ["Choose one of your organisation's products."]
    same = capability.same_as
    if same is not None:
        if same.organisation_id != capability.organisation_id:
            errors["same_as"] = ["Choose one of your organisation's capabilities."]
        elif capability.pk and same.pk == capability.pk:
            errors["same_as"] = ["A capability cannot be marked as the same as itself."]
    if errors:
        raise ValidationError(errors)


def _save(capability: Capability) -> Capability:
    capability.name = capability.name.strip()
    _check(capability)
    capability.full_clean()
    try:
        # A savepoint: two admins adding the same name at once get the message, not a 500.
        with transaction.atomic():
            capability.save()
    except IntegrityError as error:
        raise ValidationError({"name": [NAME_TAKEN.format(name=capability.name)]}) from error
    return capability


def capability_create(
    *,
    organisation: Organisation,
    name: str,
    description: str = "",
    owner_product: Product | None = None,
    same_as: Capability | None = None,
) -> Capability:
    """A new capability of the organisation; ``ValidationError`` for a name it already
    uses or a product or capability of another organisation."""
    return _save(
        Capability(
            organisation=organisation,
            name=name,
            description=description,
            owner_product=owner_product,
            same_as=same_as,
        )
    )


def capability_update(
    *,
    capability: Capability,
    name: str,
    description: str = "",
    owner_product: Product | None = None,
    same_as: Capability | None = None,
) -> Capability:
    """Change a capability's name, description, owner product and "same as" mark, by the
    same rules as ``capability_create``; nothing is saved when one is broken."""
    capability.name = name
    capability.description = description
    capability.owner_product = owner_product
    capability.same_as = same_as
    return _save(capability)
