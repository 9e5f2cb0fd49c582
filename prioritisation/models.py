"""Benefit metrics and estimates, per-method scoring inputs, and stored scores."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from customers.history import track_history


@track_history(
    "organisation", "name", "unit", "description", "weight", "higher_is_better", "archived_at"
)
class BenefitMetric(models.Model):
    """A named measure of benefit (hours saved, calls avoided…) with an importance weight."""

    organisation = models.ForeignKey(
        "customers.Organisation", on_delete=models.CASCADE, related_name="metrics"
    )
    name = models.CharField(max_length=120)
    unit = models.CharField(max_length=40)
    description = models.TextField(blank=True)
    weight = models.DecimalField(
        max_digits=6, decimal_places=2, default=1, help_text="How much this metric matters."
    )
    higher_is_better = models.BooleanField(
        default=True,
        help_text="Off for a metric where a fall is the benefit (cost, waiting days): "
        "estimates are then the expected change, and a decrease counts as benefit.",
    )
    # An archived metric takes no new estimates; the estimates that refer to it stay.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="metric_unique_name_per_organisation"
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="metric_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"


DEFAULT_METRICS: tuple[dict, ...] = (
    {
        "name": "Staff hours saved",
        "unit": "hours per month",
        "description": "Time colleagues no longer spend on rework, chasing and double keying.",
        "weight": Decimal("1.0"),
    },
    {
        "name": "Phone calls avoided",
        "unit": "calls per month",
        "description": "Calls to the contact centre that people no longer need to make.",
        "weight": Decimal("1.0"),
    },
    {
        "name": "Satisfaction",
        "unit": "points (0–100)",
        "description": "Rise in satisfaction score among the people served.",
        "weight": Decimal("1.0"),
    },
    {
        "name": "Cash saved",
        "unit": "£ per year",
        "description": "Money no longer spent: postage, licences, agency staff.",
        "weight": Decimal("1.0"),
    },
    {
        "name": "Days faster to a decision",
        "unit": "days",
        "description": "How much sooner a person gets an answer or a service.",
        "weight": Decimal("1.0"),
    },
)


class Confidence(models.TextChoices):
    """How sure we are of an estimate, as RICE defines it."""

    HIGH = "high", "High (100%)"
    MEDIUM = "medium", "Medium (80%)"
    LOW = "low", "Low (50%)"


CONFIDENCE_FRACTION = {Confidence.HIGH: 1.0, Confidence.MEDIUM: 0.8, Confidence.LOW: 0.5}


@track_history("item", "cohort", "metric", "value", "confidence", "evidence", "updated_by")
class BenefitEstimate(models.Model):
    """The benefit an item brings one cohort, on one metric."""

    item = models.ForeignKey(
        "backlog.BacklogItem", on_delete=models.CASCADE, related_name="estimates"
    )
    cohort = models.ForeignKey(
        "customers.Cohort", on_delete=models.CASCADE, related_name="estimates"
    )
    metric = models.ForeignKey(BenefitMetric, on_delete=models.CASCADE, related_name="estimates")
    value = models.DecimalField(max_digits=14, decimal_places=2)
    confidence = models.CharField(
        max_length=8, choices=Confidence.choices, default=Confidence.MEDIUM
    )
    evidence = models.TextField(blank=True, help_text="Why we believe it: notes and links.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "cohort", "metric"], name="estimate_unique_cell"
            ),
            models.CheckConstraint(
                condition=Q(confidence__in=Confidence.values), name="estimate_confidence_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.value} {self.metric.unit} for {self.cohort}"


class MoscowBucket(models.TextChoices):
    MUST = "must", "Must have"
    SHOULD = "should", "Should have"
    COULD = "could", "Could have"
    WONT = "wont", "Won't have (this time)"


# The inputs a person sets (the form's fields, and what history records of them).
SCORING_INPUT_FIELDS = (
    "rice_reach",
    "rice_impact",
    "rice_confidence",
    "rice_effort_months",
    "wsjf_business_value",
    "wsjf_time_criticality",
    "wsjf_risk_reduction",
    "wsjf_job_size",
    "ice_impact",
    "ice_confidence",
    "ice_ease",
    "moscow",
)


@track_history("item", *SCORING_INPUT_FIELDS)
class ItemScoringInputs(models.Model):
    """Inputs for the frameworks other than benefit per effort (RICE, WSJF, ICE, MoSCoW)."""

    item = models.OneToOneField(
        "backlog.BacklogItem", on_delete=models.CASCADE, related_name="scoring_inputs"
    )
    rice_reach = models.PositiveIntegerField(
        null=True, blank=True, help_text="People reached; empty = sum of target cohort sizes."
    )
    rice_impact = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    rice_confidence = models.CharField(
        max_length=8, choices=Confidence.choices, blank=True, default=""
    )
    rice_effort_months = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    wsjf_business_value = models.PositiveSmallIntegerField(null=True, blank=True)
    wsjf_time_criticality = models.PositiveSmallIntegerField(null=True, blank=True)
    wsjf_risk_reduction = models.PositiveSmallIntegerField(null=True, blank=True)
    wsjf_job_size = models.PositiveSmallIntegerField(null=True, blank=True)
    ice_impact = models.PositiveSmallIntegerField(null=True, blank=True)
    ice_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    ice_ease = models.PositiveSmallIntegerField(null=True, blank=True)
    moscow = models.CharField(max_length=8, choices=MoscowBucket.choices, blank=True, default="")

    def __str__(self) -> str:
        return f"Scoring inputs of item {self.item_id}"


class ItemScore(models.Model):
    """One row per item: the product's current score and rank for it, stored in bulk."""

    item = models.OneToOneField(
        "backlog.BacklogItem", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    # The item's product, copied so a product's scores can be read and replaced by index.
    # No database constraint: the item's own foreign key already ties the row to a real
    # item of that product, and checking a second key for every one of 10,000 rows at
    # commit costs a tenth of a recompute's budget.
    product = models.ForeignKey(
        "backlog.Product",
        on_delete=models.CASCADE,
        related_name="item_scores",
        db_constraint=False,
    )
    method = models.CharField(max_length=24)
    raw_benefit = models.FloatField(default=0)
    benefit = models.FloatField(default=0, help_text="After the benefit haircut.")
    raw_score = models.FloatField(default=0)
    score = models.FloatField(default=0, help_text="After the optimism-bias adjustment.")
    # Rank among the open items (idea, ready, in progress); empty for closed items.
    rank = models.PositiveIntegerField(null=True, blank=True)
    needs_estimates = models.BooleanField(default=False)
    # {cohort id: share of the score} and {metric id: share}; {cohort id: rank if only that
    # cohort counted}. Small (a handful of keys), read with the row, never queried inside.
    by_cohort = models.JSONField(default=dict)
    by_metric = models.JSONField(default=dict)
    cohort_ranks = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The backlog ordered by score rank within one product.
            models.Index(fields=["product", "rank"], name="score_product_rank"),
        ]

    def __str__(self) -> str:
        return f"Item {self.item_id}: {self.score:.3f} (#{self.rank})"


class PendingRescore(models.Model):
    """A product whose scores were sent to be recomputed in the background, not yet done:
    the pages say "an update is running". In the database, not the cache, so that no page
    needs Redis and the notice survives a Redis restart.

    A row of its own rather than a column on the product: the request that asks (an estimate
    save, holding its item's lock) must not wait on the product row, which a running rescore
    holds while it writes the items' scores; for the same reason there is no foreign-key
    constraint, whose check would lock the product row too."""

    product = models.OneToOneField(
        "backlog.Product",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    # When the last request was made; a rescore clears the row only if it saw this value,
    # so a request that arrives during a rescore keeps the notice until its own run.
    requested_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Rescore of product {self.product_id} requested {self.requested_at}"


class VotingMethod(models.TextChoices):
    SCHULZE = "schulze", "Schulze (ranked ballots)"
    BORDA = "borda", "Borda count (ranked ballots)"
    COPELAND = "copeland", "Copeland (ranked ballots)"
    RANKED_PAIRS = "ranked_pairs", "Ranked pairs (ranked ballots)"
    DOTS = "dots", "Dot voting"


class VotingRound(models.Model):
    """A vote by a product's business voters on the order of a shortlist of its items."""

    product = models.ForeignKey(
        "backlog.Product", on_delete=models.CASCADE, related_name="voting_rounds"
    )
    title = models.CharField(max_length=200)
    method = models.CharField(
        max_length=16, choices=VotingMethod.choices, default=VotingMethod.SCHULZE
    )
    dot_budget = models.PositiveSmallIntegerField(
        default=10, help_text="Dot voting: points each voter may spend."
    )
    dot_max_per_item = models.PositiveSmallIntegerField(
        default=3, help_text="Dot voting: most points one item can take from one voter."
    )
    cohort_weighting = models.BooleanField(
        default=True,
        help_text="Each cohort's total influence equals its voice weight, split evenly "
        "among its voters who voted. Off: one person, one vote.",
    )
    ballots_visible = models.BooleanField(
        default=False, help_text="Whether the product owner may see individual ballots."
    )
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the round is closed (by the beat task at closes_at): the result, frozen.
    closed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    # What the product owner did with the result.
    adopted_at = models.DateTimeField(null=True, blank=True)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The bulk reorder the adoption wrote: the backlog's undo marks it undone, so whether the
    # adopted order still stands is read from there, never copied.
    adopted_snapshot = models.ForeignKey(
        "backlog.OrderSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kept_reason = models.TextField(blank=True)
    # One more with every ballot taken, under the round's row lock: what the counted result
    # (RoundTally) was worked out from, so it is counted again only when a ballot changed.
    ballots_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opens_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="round_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=Q(method__in=VotingMethod.values), name="round_method_known"
            ),
        ]
        indexes = [
            # The beat task: open rounds whose closing time has passed.
            models.Index(fields=["closed_at", "closes_at"], name="round_due_to_close"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now) -> bool:
        return self.closed_at is None and self.opens_at <= now < self.closes_at

    @property
    def adoption_undone_at(self):
        """When the backlog's undo took the adopted order back, or None (not adopted, or
        adopted and standing). Load with ``select_related("adopted_snapshot")``."""
        snapshot = self.adopted_snapshot if self.adopted_snapshot_id else None
        return snapshot.undone_at if snapshot else None


class RoundTally(models.Model):
    """What a round's ballots decide, counted once per set of ballots (and voice weights)
    and kept, so the results page reads it instead of counting every ballot per look: the
    consensus, each cohort's, agreement between voters, and the head-to-head matrix. Once the
    round closes it is not counted again: its matrix is the frozen result's."""

    round = models.OneToOneField(
        VotingRound, on_delete=models.CASCADE, primary_key=True, related_name="tally"
    )
    # What it was counted from: the round's ballots_version, method and voice weights.
    key = models.CharField(max_length=500)
    result = models.JSONField()
    # The weighted head-to-head matrix, float64 m × m, zlib-compressed: at 1,000 items, JSON
    # lists would be 10 MB to read and 40 MB of Python floats on every look.
    pairwise = models.BinaryField()
    counted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Tally of round {self.round_id} ({self.key})"


class RoundCandidate(models.Model):
    """One item on a round's shortlist; ``position`` is the shortlist order (by score)."""

    round = models.ForeignKey(VotingRound, on_delete=models.CASCADE, related_name="candidates")
    item = models.ForeignKey(
        "backlog.BacklogItem", on_delete=models.CASCADE, related_name="round_candidacies"
    )
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["round", "item"], name="candidate_unique_item"),
            models.UniqueConstraint(fields=["round", "position"], name="candidate_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} in round {self.round_id}"


@track_history("round", "voter", "cohort", "ranking", "points", "revisions")
class Ballot(models.Model):
    """One voter's ballot in one round: a ranking (tiers of item ids, best first; items left
    out are tied below) or, for dot voting, points per item id."""

    round = models.ForeignKey(VotingRound, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ballots"
    )
    # The cohort the voter spoke for when voting (memberships can change later).
    cohort = models.ForeignKey(
        "customers.Cohort", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ranking = models.JSONField(default=list, blank=True)
    points = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revisions = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            # One ballot per voter per round, whatever the timing of their submissions.
            models.UniqueConstraint(fields=["round", "voter"], name="ballot_one_per_voter"),
        ]

    def __str__(self) -> str:
        return f"Ballot of {self.voter_id} in round {self.round_id}"
