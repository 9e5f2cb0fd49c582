"""Writes for benefit metrics, estimates, scoring settings and stored scores."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from backlog.locks import lock_item
from backlog.models import BacklogItem, ItemEvent, ItemEventKind, Product
from customers.models import Cohort, Organisation
from customers.services import save_named
from outbox.services import outbox_enqueue_many
from prioritisation import selectors
from prioritisation.models import (
    DEFAULT_METRICS,
    BenefitEstimate,
    BenefitMetric,
    Confidence,
    ItemScoringInputs,
    PendingRescore,
)
from prioritisation.services.recompute import scores_recompute

# Up to this many items a product is rescored inside the request that changed it (a few
# milliseconds); above it, by a Celery task after commit, so no page waits on a big recompute.
SYNC_RECOMPUTE_MAX_ITEMS = 2000
# The estimate column holds 12 digits before the point.
MAX_ESTIMATE = Decimal(10) ** 12


def metrics_create_defaults(*, organisation: Organisation) -> list[BenefitMetric]:
    return BenefitMetric.objects.bulk_create(
        BenefitMetric(organisation=organisation, **metric) for metric in DEFAULT_METRICS
    )


def metric_update(
    *,
    metric: BenefitMetric,
    name: str,
    unit: str,
    description: str,
    weight: Decimal,
    higher_is_better: bool,
) -> BenefitMetric:
    with transaction.atomic():
        for field, value in {
            "name": name,
            "unit": unit,
            "description": description,
            "weight": weight,
            "higher_is_better": higher_is_better,
        }.items():
            setattr(metric, field, value)
        save_named(metric, noun="metric")
        scores_refresh_organisation(organisation_id=metric.organisation_id)
    return metric


# ---------------------------------------------------------------- estimates


@dataclass(frozen=True)
class EstimateCell:
    """One cell of an item's cohort × metric grid; ``value`` None clears the cell."""

    cohort: Cohort
    metric: BenefitMetric
    value: Decimal | None
    confidence: str = Confidence.MEDIUM
    evidence: str = ""


def estimates_save(
    *, item: BacklogItem, actor: AbstractBaseUser | None, cells: Iterable[EstimateCell]
) -> int:
    """Replace the item's estimates with the given cells, all or nothing.

    Validates every cell before writing any; records the changes in the item's history and
    refreshes the product's scores. Returns the number of cells that changed. A cell may
    not add an estimate for an archived cohort or metric (ValidationError); it may change
    or clear one that exists.
    """
    cells = list(cells)
    organisation_id = item.product.organisation_id
    errors = []
    seen = set()
    for cell in cells:
        key = (cell.cohort.pk, cell.metric.pk)
        if key in seen:
            errors.append(f"{cell.metric.name} for {cell.cohort.name} is given twice.")
        seen.add(key)
        if cell.value is not None and cell.value.is_finite() and abs(cell.value) >= MAX_ESTIMATE:
            errors.append(f"{cell.metric.name} for {cell.cohort.name}: that number is too large.")
        if cell.cohort.organisation_id != organisation_id or (
            cell.metric.organisation_id != organisation_id
        ):
            errors.append("An estimate names a cohort or metric of another organisation.")
        if cell.value is not None and not cell.value.is_finite():
            errors.append(f"{cell.metric.name} for {cell.cohort.name}: enter a number.")
        if cell.confidence not in Confidence.values:
            errors.append(f"{cell.metric.name} for {cell.cohort.name}: unknown confidence.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Two people saving the same grid at once take turns on the item's lock; the product
        # is locked first because the rescore that follows locks it (backlog.locks).
        lock_item(item)
        current = selectors.estimate_grid(item=item)
        changes, to_create, to_update, to_delete = [], [], [], []
        for cell in cells:
            key = (cell.cohort.pk, cell.metric.pk)
            old = current.get(key)
            label = f"{cell.cohort.name} · {cell.metric.name}"
            if cell.value is None:
                if old is not None:
                    to_delete.append(old.pk)
                    changes.append([label, str(old.value), None])
                continue
            if old is None:
                # An archived cohort or metric takes no new estimates; the ones it has can
                # still be changed or cleared.
                archived = [
                    f"the {noun} “{thing.name}”"
                    for noun, thing in (("cohort", cell.cohort), ("metric", cell.metric))
                    if thing.archived_at is not None
                ]
                if archived:
                    verb = "are archived and take" if len(archived) > 1 else "is archived and takes"
                    raise ValidationError(
                        f"{cell.metric.name} for {cell.cohort.name}: "
                        f"{' and '.join(archived)} {verb} no new estimates."
                    )
                to_create.append(
                    BenefitEstimate(
                        item=item,
                        cohort=cell.cohort,
                        metric=cell.metric,
                        value=cell.value,
                        confidence=cell.confidence,
                        evidence=cell.evidence,
                        updated_by=actor,
                    )
                )
                changes.append([label, None, f"{cell.value} ({cell.confidence})"])
            elif (old.value, old.confidence, old.evidence) != (
                cell.value,
                cell.confidence,
                cell.evidence,
            ):
                was = f"{old.value} ({old.confidence})"
                old.value, old.confidence, old.evidence = cell.value, cell.confidence, cell.evidence
                old.updated_by = actor
                old.updated_at = timezone.now()
                to_update.append(old)
                changes.append([label, was, f"{cell.value} ({cell.confidence})"])
        if not changes:
            return 0
        BenefitEstimate.objects.filter(pk__in=to_delete).delete()
        BenefitEstimate.objects.bulk_create(to_create)
        BenefitEstimate.objects.bulk_update(
            to_update, ["value", "confidence", "evidence", "updated_by", "updated_at"]
        )
        ItemEvent.objects.create(
            item=item, actor=actor, kind=ItemEventKind.ESTIMATED, data={"changes": changes}
        )
        scores_refresh(product=item.product)
    return len(changes)


def scoring_inputs_update(
    *, item: BacklogItem, actor: AbstractBaseUser | None, **fields: object
) -> ItemScoringInputs:
    """Set an item's RICE / WSJF / ICE / MoSCoW inputs (validated by the caller's form)."""
    with transaction.atomic():
        lock_item(item)
        inputs, _ = ItemScoringInputs.objects.get_or_create(item=item)
        for field, value in fields.items():
            setattr(inputs, field, value)
        inputs.full_clean()
        inputs.save()
        ItemEvent.objects.create(
            item=item,
            actor=actor,
            kind=ItemEventKind.ESTIMATED,
            data={"inputs": {k: str(v) for k, v in fields.items() if v not in (None, "")}},
        )
        scores_refresh(product=item.product)
    return inputs


def scoring_settings_update(
    *,
    product: Product,
    actor: AbstractBaseUser | None,
    scoring_method: str,
    effort_uplift: Decimal,
    benefit_haircut: Decimal,
    optimism_reason: str,
) -> Product:
    with transaction.atomic():
        product = Product.objects.select_for_update(of=("self",)).get(pk=product.pk)
        product.scoring_method = scoring_method
        product.effort_uplift = effort_uplift
        product.benefit_haircut = benefit_haircut
        product.optimism_reason = optimism_reason
        product.full_clean()
        product.save()
        scores_refresh(product=product)
    return product


# ---------------------------------------------------------------- scores


def scores_pending(*, product: Product) -> bool:
    """Whether a background recompute of the product's scores is queued or running."""
    return PendingRescore.objects.filter(product_id=product.pk).exists()


def scores_refresh(*, product: Product, item_count: int | None = None) -> None:
    """Bring the product's scores up to date after a change.

    Small products are rescored now, inside the caller's transaction, so the page that
    follows shows the new order. Large ones are rescored by a Celery task recorded in the
    outbox in the caller's transaction and sent when it commits (the task must see the
    change, must not run if it rolls back, and must not be lost if Redis is down).
    """
    if item_count is None:
        item_count = BacklogItem.objects.filter(product_id=product.pk).count()
    if item_count <= SYNC_RECOMPUTE_MAX_ITEMS:
        scores_recompute(product_id=product.pk)
    else:
        scores_request_rescore(product_ids=[product.pk])


def scores_request_rescore(*, product_ids: list[int]) -> None:
    """Mark the products "being updated" and queue their rescores, in the caller's
    transaction: two INSERTs, whatever the number of products. The mark's new time is what
    tells a rescore already running that its inputs changed (``recompute.scores_rescore``)."""
    from prioritisation.tasks import recompute_product_scores

    now = timezone.now()
    PendingRescore.objects.bulk_create(
        [PendingRescore(product_id=pk, requested_at=now) for pk in product_ids],
        update_conflicts=True,
        unique_fields=["product"],
        update_fields=["requested_at"],
    )
    outbox_enqueue_many(
        task=recompute_product_scores, kwargs_list=[{"product_id": pk} for pk in product_ids]
    )


def scores_refresh_organisation(*, organisation_id: int) -> None:
    """A cohort or metric weight changed: every product of the organisation is rescored.

    One query sizes every product. If together they are small, all are rescored in this
    request; otherwise all go to the workers, so a request never holds the locks of many
    products while it recomputes them one after another."""
    products = list(
        Product.objects.filter(organisation_id=organisation_id).annotate(item_count=Count("items"))
    )
    if sum(p.item_count for p in products) <= SYNC_RECOMPUTE_MAX_ITEMS:
        for product in products:
            scores_recompute(product_id=product.pk)
    elif products:
        scores_request_rescore(product_ids=[product.pk for product in products])
