"""Pages for scoring (``scoring``), voting rounds (``rounds``) and the organisation's benefit
metrics (``metrics``)."""

from prioritisation.views.metrics import (
    metric_archive,
    metric_create,
    metric_delete,
    metric_edit,
    metric_list,
    metric_restore,
)
from prioritisation.views.rounds import (
    ballot,
    round_adopt,
    round_close,
    round_create,
    round_keep,
    round_list,
    round_pairwise_csv,
    round_reopen,
    round_results,
)
from prioritisation.views.scoring import (
    estimates_edit,
    item_score,
    scoring_context,
    scoring_inputs_edit,
    scoring_settings,
)

__all__ = [
    "ballot",
    "estimates_edit",
    "item_score",
    "metric_archive",
    "metric_create",
    "metric_delete",
    "metric_edit",
    "metric_list",
    "metric_restore",
    "round_adopt",
    "round_close",
    "round_create",
    "round_keep",
    "round_list",
    "round_pairwise_csv",
    "round_reopen",
    "round_results",
    "scoring_context",
    "scoring_inputs_edit",
    "scoring_settings",
]
