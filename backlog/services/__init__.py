"""Writes for products, backlog items and their manual order. Each service owns its
transaction. ``items`` holds items; ``products`` products and their people; ``order`` holds
moves, pins, applying the score order and undoing it."""

from backlog.services.capabilities import capability_create, capability_update
from backlog.services.items import item_create, item_update
from backlog.services.order import (
    MoveRefused,
    MoveTo,
    item_move,
    item_pin,
    order_adopt,
    order_apply_scores,
    order_undo,
)
from backlog.services.principles import (
    principle_archive,
    principle_check_set,
    principle_create,
    principle_move,
    principle_restore,
    principle_update,
)
from backlog.services.products import (
    ARCHIVED_MESSAGE,
    LAST_OWNER_MESSAGE,
    RoleChange,
    RoleChanges,
    product_archive,
    product_create,
    product_restore,
    product_role_grant,
    product_role_revoke,
    product_roles_set,
    product_update,
)

__all__ = [
    "ARCHIVED_MESSAGE",
    "LAST_OWNER_MESSAGE",
    "RoleChange",
    "RoleChanges",
    "product_archive",
    "product_restore",
    "product_role_revoke",
    "product_roles_set",
    "product_update",
    "MoveRefused",
    "MoveTo",
    "capability_create",
    "capability_update",
    "principle_archive",
    "principle_check_set",
    "principle_create",
    "principle_move",
    "principle_restore",
    "principle_update",
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
