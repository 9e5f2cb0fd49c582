"""The database half of the ``scoring`` benchmark: recompute and store a product's scores."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

from bench._django import bench_database, count_queries, make_product_with_items
from bench._util import row


def _add_estimates(product, *, per_item: int, seed: int = 7) -> int:
    """``per_item`` estimates for every item, over random cohort × metric cells."""
    from backlog.models import BacklogItem
    from prioritisation.models import BenefitEstimate

    rng = random.Random(seed)
    cohorts = list(product.organisation.cohorts.values_list("pk", flat=True))
    metrics = list(product.organisation.metrics.values_list("pk", flat=True))
    cells = [(c, m) for c in cohorts for m in metrics]
    rows = []
    for item_id in BacklogItem.objects.filter(product=product).values_list("pk", flat=True):
        for cohort_id, metric_id in rng.sample(cells, per_item):
            rows.append(
                BenefitEstimate(
                    item_id=item_id,
                    cohort_id=cohort_id,
                    metric_id=metric_id,
                    value=rng.randint(1, 500),
                    confidence=rng.choice(["high", "medium", "low"]),
                )
            )
    BenefitEstimate.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def db_rows(quick: bool) -> Iterable[dict]:
    """Recompute and store scores of a 10,000-item product (quick: 2,000), end to end."""
    size = 2_000 if quick else 10_000
    repeat = 5 if quick else 9
    with bench_database() as vendor:
        from prioritisation import services

        _org, product, _user = make_product_with_items(size, name="Scoring bench")
        estimates = _add_estimates(product, per_item=4)
        services.scores_recompute(product_id=product.pk)  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            services.scores_recompute(product_id=product.pk)
            times.append(time.perf_counter() - start)
        times.sort()
        _, queries = count_queries(lambda: services.scores_recompute(product_id=product.pk))
        yield row(
            f"scoring_recompute_store_{size}_median",
            times[len(times) // 2],
            "s",
            items=size,
            estimates=estimates,
            database=vendor,
            queries=len(queries),
            target_s=0.5,
            meets_target=times[len(times) // 2] <= 0.5,
        )
