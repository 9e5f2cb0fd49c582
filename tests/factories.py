"""factory_boy factories for the app's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from backlog import ordering
from backlog.models import BacklogItem, Capability, Product, ProductRole
from customers.models import Cohort, CohortKind, Membership, Organisation


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")
    kind = CohortKind.USES
    size = 100
    voice_weight = 1


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = "member"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    weekly_capacity = 20


class ProductRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductRole

    product = factory.SubFactory(ProductFactory)
    user = factory.SubFactory(UserFactory)
    role = "product_owner"


class CapabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Capability

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Capability {n}")


_keys = iter(ordering.spread_keys(200_000))


class BacklogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BacklogItem

    product = factory.SubFactory(ProductFactory)
    title = factory.Sequence(lambda n: f"Item {n}")
    effort = 3
    # Increasing keys, so factory items land in creation order like the service's appends.
    rank_key = factory.LazyFunction(lambda: next(_keys))


def give_score_ranks(items, ranks=None) -> None:
    """Stored scores for ``items``: rank 1, 2, … in the order given (or ``ranks``), with
    score 1/rank, as a recompute would leave them."""
    from django.utils import timezone

    from prioritisation.models import ItemScore

    ranks = ranks or range(1, len(items) + 1)
    ItemScore.objects.bulk_create(
        ItemScore(
            item=item,
            product=item.product,
            method="benefit_per_effort",
            rank=rank,
            score=1.0 / rank,
            computed_at=timezone.now(),
        )
        for item, rank in zip(items, ranks, strict=True)
    )


def open_round(product, actor, **overrides):
    """An open Schulze round (opened an hour ago, closing tomorrow) on the top 4 by score."""
    from datetime import timedelta

    from django.utils import timezone

    from prioritisation import services

    now = timezone.now()
    args = {
        "title": "What next?",
        "method": "schulze",
        "opens_at": now - timedelta(hours=1),
        "closes_at": now + timedelta(days=1),
        "shortlist_size": 4,
        **overrides,
    }
    return services.round_create(product=product, actor=actor, **args)
