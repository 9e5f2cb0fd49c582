"""Pages for products and backlog items (``items``), the manual order (``order``), the
show-and-tell (``sessions``) and history (``audit``)."""

from backlog.views.audit import audit_log, audit_log_csv, item_history
from backlog.views.capabilities import (
    capability_create,
    capability_detail,
    capability_edit,
    capability_list,
)
from backlog.views.home import home
from backlog.views.items import (
    item_create,
    item_detail,
    item_edit,
    item_quick_add,
    product_backlog,
)
from backlog.views.order import compare, item_move, item_pin, order_apply_scores, order_undo
from backlog.views.principles import (
    item_principles,
    principle_archive,
    principle_create,
    principle_edit,
    principle_list,
    principle_move,
    principle_restore,
)
from backlog.views.products import (
    product_archive,
    product_create,
    product_edit,
    product_people,
    product_restore,
)
from backlog.views.sessions import (
    decision_add,
    go_live_sign,
    go_live_sign_all,
    go_live_withdraw,
    next_up_confirm,
    session_detail,
    session_finish,
    session_list,
    session_present,
    session_start,
)

__all__ = [
    "capability_create",
    "capability_detail",
    "capability_edit",
    "capability_list",
    "item_principles",
    "principle_archive",
    "principle_create",
    "principle_edit",
    "principle_list",
    "principle_move",
    "principle_restore",
    "audit_log",
    "audit_log_csv",
    "item_history",
    "decision_add",
    "go_live_sign",
    "go_live_sign_all",
    "go_live_withdraw",
    "next_up_confirm",
    "session_detail",
    "session_finish",
    "session_list",
    "session_present",
    "session_start",
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
    "product_archive",
    "product_backlog",
    "product_create",
    "product_edit",
    "product_people",
    "product_restore",
]
