"""Pages for products and backlog items (``items``) and the manual order (``order``)."""

from backlog.views.items import (
    home,
    item_create,
    item_detail,
    item_edit,
    item_quick_add,
    product_backlog,
)
from backlog.views.order import compare, item_move, item_pin, order_apply_scores, order_undo

__all__ = [
    "compare",
    "home",
    "item_create",
    "item_detail",
    "item_edit",
    "item_move",
    "item_pin",
    "item_quick_add",
    "order_apply_scores",
    "order_undo",
    "product_backlog",
]
