from celery import shared_task

from prioritisation import services


@shared_task(acks_late=True, ignore_result=True)
def recompute_product_scores(*, product_id: int) -> int:
    """Rescore one product in the background. Idempotent: it replaces the whole set."""
    return services.scores_recompute(product_id=product_id)
