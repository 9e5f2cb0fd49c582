"""Row locks for the backlog, always taken in one order: product, then item.

Every write that can collide takes its locks through here, so that two requests never wait
on each other in opposite orders: a service that locked an item first and the product second
(an estimate save that rescores in the request, a go-live signature, an item edit) would
deadlock with a move, which locks the product and then rewrites one item's key.

The background rescore takes neither: it reads and computes with no lock and stores under a
per-product scores lock of its own (``prioritisation.services.recompute._lock_scores``),
taken last, after product and item, by a request that rescores in its own transaction. So a
move never waits on a rescore.

Each lock names only its own row (``of=("self",)``) and clears the models' default ordering,
which for items joins the product table and would lock the product row as a side effect.
"""

from __future__ import annotations

from backlog.models import BacklogItem, Product


def lock_product(product_id: int) -> Product | None:
    """Lock the product row for the rest of the transaction; None if it is gone."""
    return Product.objects.select_for_update(of=("self",)).order_by().filter(pk=product_id).first()


def lock_item(item: BacklogItem) -> BacklogItem:
    """Lock the item's product, then the item; returns the item as it is now.

    Raises ``BacklogItem.DoesNotExist`` if the item was deleted meanwhile."""
    lock_product(item.product_id)
    return BacklogItem.objects.select_for_update(of=("self",)).order_by().get(pk=item.pk)
