"""Pages for scoring (``scoring``) and voting rounds (``rounds``)."""

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
    metric_edit,
    metric_list,
    scoring_context,
    scoring_inputs_edit,
    scoring_settings,
)

__all__ = [
    "ballot",
    "estimates_edit",
    "item_score",
    "metric_edit",
    "metric_list",
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
