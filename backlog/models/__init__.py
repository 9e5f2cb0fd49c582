"""Products, their people, capabilities and backlog items (``core``), and the weekly
show-and-tell with the joint go-live (``sessions``)."""

from backlog.models.core import *  # noqa: F403
from backlog.models.core import (
    EFFORT_MAX,
    EFFORT_MIN,
    EFFORT_RULE,
    EFFORT_STEP,
    GREEN_BOOK_EFFORT_UPLIFT,
    ITEM_EDITOR_ROLES,
    OPEN_STATUSES,
    STATUS_TIMESTAMP_FIELD,
    validate_effort,
)
from backlog.models.sessions import (
    GO_LIVE_ROLES,
    Decision,
    DecisionKind,
    GoLiveSignature,
    ShowAndTell,
)

__all__ = [  # noqa: F405 - the names come from core's star import
    "EFFORT_MAX",
    "EFFORT_MIN",
    "EFFORT_RULE",
    "EFFORT_STEP",
    "GO_LIVE_ROLES",
    "GREEN_BOOK_EFFORT_UPLIFT",
    "ITEM_EDITOR_ROLES",
    "OPEN_STATUSES",
    "STATUS_TIMESTAMP_FIELD",
    "BacklogItem",
    "Capability",
    "CapabilityUse",
    "DEFAULT_PRINCIPLES",
    "ItemPrincipleCheck",
    "Principle",
    "PrincipleAnswer",
    "Decision",
    "DecisionKind",
    "DigitisationLevel",
    "GoLiveSignature",
    "ItemCapability",
    "ItemEvent",
    "ItemEventKind",
    "ItemStatus",
    "NewItemPosition",
    "OrderSnapshot",
    "Product",
    "ProductKind",
    "ProductRole",
    "ProductRoleKind",
    "ReorderKind",
    "ScoringMethod",
    "ShowAndTell",
    "validate_effort",
]
