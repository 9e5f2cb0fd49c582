"""Writes for organisations, memberships and cohorts."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from customers.models import DEFAULT_COHORTS, Cohort, Membership, Organisation, OrganisationRole


@transaction.atomic
def organisation_create(
    *, name: str, slug: str = "", time_zone: str = "Europe/London"
) -> Organisation:
    """Create an organisation with its default cohorts (Colleagues, Citizens, Leaders) and
    default benefit metrics."""
    organisation = Organisation.objects.create(
        name=name, slug=slug or slugify(name)[:80], time_zone=time_zone
    )
    Cohort.objects.bulk_create(
        Cohort(organisation=organisation, **cohort) for cohort in DEFAULT_COHORTS
    )
    from prioritisation.services import metrics_create_defaults

    metrics_create_defaults(organisation=organisation)
    return organisation


def membership_create(
    *,
    user: AbstractBaseUser,
    organisation: Organisation,
    role: str = OrganisationRole.MEMBER,
    cohort: Cohort | None = None,
    job_title: str = "",
) -> Membership:
    if cohort is not None and cohort.organisation_id != organisation.pk:
        raise ValueError("The cohort belongs to another organisation.")
    return Membership.objects.create(
        user=user, organisation=organisation, role=role, cohort=cohort, job_title=job_title
    )


def cohort_update(
    *,
    cohort: Cohort,
    name: str,
    description: str,
    kind: str,
    size: int,
    voice_weight: Decimal,
) -> Cohort:
    cohort.name = name
    cohort.description = description
    cohort.kind = kind
    cohort.size = size
    cohort.voice_weight = voice_weight
    from prioritisation.services import scores_refresh_organisation

    with transaction.atomic():
        cohort.full_clean()
        cohort.save()
        # Voice weights enter every score of the organisation.
        scores_refresh_organisation(organisation_id=cohort.organisation_id)
    return cohort
