"""Row locks for the backlog, always taken in one order: product, then item.

Every write that can collide takes its locks through here, so that two requests (or a
request and the rescore task) never wait on each other in opposite orders. The rescore task
locks the product and then checks every item its scores point to (a foreign-key share lock),
and a move locks the product and then rewrites one item's key; a service that locked an item
first and the product second (an estimate save that rescores in the request, a go-live
signature, an item edit) deadlocked with either.

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
