"""Writes for the organisation's benefit metrics: create, archive, restore, delete.

(Editing one, which rescores every product, is ``scores.metric_update``.)"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from customers.models import Organisation
from customers.selectors import references_to
from customers.services import StillReferenced, save_named
from prioritisation.models import BenefitMetric
from prioritisation.services.scores import scores_refresh_organisation


def metric_create(
    *,
    organisation: Organisation,
    name: str,
    unit: str,
    description: str,
    weight: Decimal,
    higher_is_better: bool,
) -> BenefitMetric:
    """Add a benefit metric. Every product is rescored, so each stored score's breakdown
    by metric has the new metric's column."""
    metric = BenefitMetric(
        organisation=organisation,
        name=name.strip(),
        unit=unit,
        description=description,
        weight=weight,
        higher_is_better=higher_is_better,
    )
    with transaction.atomic():
        save_named(metric, noun="metric")
        scores_refresh_organisation(organisation_id=organisation.pk)
    return metric


def _metric_locked(metric: BenefitMetric) -> BenefitMetric | None:
    # Only the metric row (the model's default ordering would join the organisation).
    return (
        BenefitMetric.objects.select_for_update(of=("self",))
        .order_by()
        .filter(pk=metric.pk)
        .first()
    )


def metric_archive(*, metric: BenefitMetric) -> BenefitMetric:
    """Archive a metric: it takes no new estimates; the estimates made against it stay and
    still count in scores, so no score changes (and nothing is rescored: scores do not
    read ``archived_at``). Archiving twice keeps the first time."""
    with transaction.atomic():
        locked = _metric_locked(metric)
        if locked is not None and locked.archived_at is None:
            locked.archived_at = timezone.now()
            locked.save(update_fields=["archived_at"])
        if locked is not None:
            metric.archived_at = locked.archived_at
    return metric


def metric_restore(*, metric: BenefitMetric) -> BenefitMetric:
    """Make an archived metric take new estimates again."""
    with transaction.atomic():
        locked = _metric_locked(metric)
        if locked is not None and locked.archived_at is not None:
            locked.archived_at = None
            locked.save(update_fields=["archived_at"])
    metric.archived_at = None
    return metric


def metric_delete(*, metric: BenefitMetric) -> None:
    """Delete a metric no estimate refers to; StillReferenced otherwise.

    The metric row is locked while its references are counted and it is deleted. An
    estimate another transaction is writing at that moment fails when it commits (the
    foreign keys are deferred), so none is left pointing at a deleted metric. Nothing is
    rescored: with no estimates the metric had no share in any score."""
    with transaction.atomic():
        locked = _metric_locked(metric)
        if locked is None:
            return
        references = references_to(locked)
        if references:
            raise StillReferenced(f"the metric “{locked.name}”", references)
        locked.delete()
