"""The tracked models the history is read from, and how each reaches an organisation,
a product and an item."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from backlog.models import (
    BacklogItem,
    GoLiveSignature,
    OrderSnapshot,
    Product,
    ProductRole,
)
from customers.history import DELETE, INSERT, UPDATE
from customers.models import Cohort, Membership
from prioritisation.models import (
    Ballot,
    BenefitEstimate,
    BenefitMetric,
    ItemScoringInputs,
)

CHANGES = {INSERT: "Created", UPDATE: "Changed", DELETE: "Deleted"}


@dataclass(frozen=True)
class Source:
    """One tracked model: how its events reach an organisation, a product and an item."""

    key: str
    label: str
    model: type[models.Model]
    organisation: str  # lookup from an event to its organisation
    product: str | None = None  # ... to its product, if it has one
    item: str | None = None  # ... to its item, if it is part of an item's history
    hidden: frozenset[str] = frozenset()  # fields that name the row rather than change

    @property
    def events(self) -> type[models.Model]:
        return self.model.pgh_event_model

    @property
    def fields(self) -> list[models.Field]:
        return [f for f in self.events._meta.fields if not f.name.startswith("pgh_")]


SOURCES: dict[str, Source] = {
    source.key: source
    for source in (
        Source(
            "item",
            "Backlog items",
            BacklogItem,
            "product__organisation",
            product="product",
            item="pgh_obj",
            hidden=frozenset({"product"}),
        ),
        Source(
            "order",
            "Bulk reorders",
            OrderSnapshot,
            "product__organisation",
            product="product",
            hidden=frozenset({"product", "actor", "kind"}),
        ),
        Source(
            "estimate",
            "Benefit estimates",
            BenefitEstimate,
            "item__product__organisation",
            product="item__product",
            item="item",
            hidden=frozenset({"item", "cohort", "metric", "updated_by"}),
        ),
        Source(
            "inputs",
            "Scoring inputs",
            ItemScoringInputs,
            "item__product__organisation",
            product="item__product",
            item="item",
            hidden=frozenset({"item"}),
        ),
        Source(
            "signature",
            "Go-live signatures",
            GoLiveSignature,
            "item__product__organisation",
            product="item__product",
            item="item",
            hidden=frozenset({"item", "session"}),
        ),
        Source(
            "ballot",
            "Ballots",
            Ballot,
            "round__product__organisation",
            product="round__product",
            hidden=frozenset({"round", "voter", "cohort"}),
        ),
        Source(
            "settings",
            "Product settings",
            Product,
            "organisation",
            product="pgh_obj",
            hidden=frozenset({"organisation"}),
        ),
        Source(
            "role",
            "Product roles",
            ProductRole,
            "product__organisation",
            product="product",
            hidden=frozenset({"product"}),
        ),
        Source(
            "membership",
            "Memberships",
            Membership,
            "organisation",
            hidden=frozenset({"organisation", "user"}),
        ),
        Source("cohort", "Cohorts", Cohort, "organisation", hidden=frozenset({"organisation"})),
        Source(
            "metric",
            "Benefit metrics",
            BenefitMetric,
            "organisation",
            hidden=frozenset({"organisation"}),
        ),
    )
}

# Ballots are secret unless the round says otherwise: the audit log shows that a ballot was
# cast or changed, and its contents only where the round lets the product owner see them.
SECRET_BALLOT_FIELDS = frozenset({"ranking", "points"})
