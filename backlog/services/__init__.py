"""Writes for products, backlog items and their manual order. Each service owns its
transaction. ``items`` holds products and items; ``order`` holds moves, pins, applying
the score order and undoing it."""

from backlog.services.items import (
    capability_create,
    item_create,
    item_update,
    product_create,
    product_role_grant,
)
from backlog.services.order import (
    MoveRefused,
    MoveTo,
    item_move,
    item_pin,
    order_adopt,
    order_apply_scores,
    order_undo,
)

__all__ = [
    "MoveRefused",
    "MoveTo",
    "capability_create",
    "item_create",
    "item_move",
    "item_pin",
    "item_update",
    "order_adopt",
    "order_apply_scores",
    "order_undo",
    "product_create",
    "product_role_grant",
]
