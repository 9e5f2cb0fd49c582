from celery import shared_task

from prioritisation import services


# Acknowledged when done, and given back to the queue if its worker dies mid-run: the rescore
# writes in one transaction (a killed run leaves nothing behind) and brings every row up to date.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recompute_product_scores(*, product_id: int) -> int:
    """Rescore one product in the background. Idempotent: a second run writes no row."""
    return services.scores_recompute(product_id=product_id)


@shared_task(ignore_result=True)
def close_due_rounds() -> list[int]:
    """Beat, every minute: close voting rounds whose time is up and freeze their results.
    Idempotent: a closed round is never closed again."""
    return services.round_close_due()
