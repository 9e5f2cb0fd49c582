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


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def notify_round_opened(*, round_id: int) -> int:
    """E-mail a round's voters that it is open. Idempotent: once per voter and round."""
    from prioritisation.notifications import round_opened_notify

    return round_opened_notify(round_id=round_id)


@shared_task(ignore_result=True)
def notify_rounds_due() -> int:
    """Beat, every 15 minutes: announce rounds that opened, remind voters who have not voted
    of rounds closing within 24 hours. Idempotent: each e-mail goes once."""
    from prioritisation.notifications import rounds_notify_due

    return rounds_notify_due()
