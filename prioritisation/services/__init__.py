"""Writes for prioritisation.

``scores``: benefit metrics, estimates, scoring settings and keeping scores fresh.
``recompute``: computing and storing a product's scores.
``rounds``: voting rounds, ballots, closing and adopting results.
``metrics``: creating, archiving, restoring and deleting benefit metrics.
"""

from customers.services import StillReferenced
from prioritisation.services.metrics import (
    metric_archive,
    metric_create,
    metric_delete,
    metric_restore,
)
from prioritisation.services.recompute import (
    Rescore,
    scores_compute,
    scores_recompute,
    scores_rescore,
)
from prioritisation.services.rounds import (
    BallotRefused,
    ballot_submit,
    round_adopt,
    round_close,
    round_close_due,
    round_close_now,
    round_create,
    round_keep,
    round_reopen,
)
from prioritisation.services.scores import (
    SYNC_RECOMPUTE_MAX_ITEMS,
    EstimateCell,
    estimates_save,
    metric_update,
    metrics_create_defaults,
    scores_pending,
    scores_refresh,
    scores_refresh_organisation,
    scores_request_rescore,
    scoring_inputs_update,
    scoring_settings_update,
)

__all__ = [
    "SYNC_RECOMPUTE_MAX_ITEMS",
    "BallotRefused",
    "Rescore",
    "EstimateCell",
    "StillReferenced",
    "ballot_submit",
    "estimates_save",
    "metric_archive",
    "metric_create",
    "metric_delete",
    "metric_restore",
    "metric_update",
    "metrics_create_defaults",
    "round_adopt",
    "round_close",
    "round_close_due",
    "round_close_now",
    "round_create",
    "round_keep",
    "round_reopen",
    "scores_compute",
    "scores_pending",
    "scores_recompute",
    "scores_rescore",
    "scores_refresh",
    "scores_refresh_organisation",
    "scores_request_rescore",
    "scoring_inputs_update",
    "scoring_settings_update",
]
