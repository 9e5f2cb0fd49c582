from django.contrib import admin

from customers.admin import register_history
from prioritisation.models import (
    Ballot,
    BenefitEstimate,
    BenefitMetric,
    ItemScore,
    ItemScoringInputs,
    PendingRescore,
    RoundCandidate,
    RoundTally,
    VotingRound,
)


@admin.register(BenefitMetric)
class BenefitMetricAdmin(admin.ModelAdmin):
    list_display = ["name", "unit", "weight", "higher_is_better", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name"]


@admin.register(BenefitEstimate)
class BenefitEstimateAdmin(admin.ModelAdmin):
    list_display = ["item", "cohort", "metric", "value", "confidence", "updated_at"]
    list_filter = ["confidence", "metric"]
    raw_id_fields = ["item", "updated_by"]
    list_select_related = ["item", "cohort", "metric"]


@admin.register(ItemScoringInputs)
class ItemScoringInputsAdmin(admin.ModelAdmin):
    list_display = ["item", "rice_impact", "wsjf_job_size", "ice_impact", "moscow"]
    raw_id_fields = ["item"]


@admin.register(ItemScore)
class ItemScoreAdmin(admin.ModelAdmin):
    list_display = ["item", "product", "method", "score", "rank", "needs_estimates", "computed_at"]
    list_filter = ["method", "needs_estimates"]
    raw_id_fields = ["item", "product"]
    list_select_related = ["item", "product"]


@admin.register(PendingRescore)
class PendingRescoreAdmin(admin.ModelAdmin):
    """Products whose background rescore is queued or running (the "being updated" notice)."""

    list_display = ["product", "requested_at"]
    raw_id_fields = ["product"]
    list_select_related = ["product"]


@admin.register(RoundTally)
class RoundTallyAdmin(admin.ModelAdmin):
    """A round's counted ballots, kept so the results page need not count them per look.
    Derived data: the operator may read or delete one (it is counted again), never edit."""

    list_display = ["round", "key", "counted_at"]
    fields = ["round", "key", "counted_at"]
    readonly_fields = fields
    raw_id_fields = ["round"]
    list_select_related = ["round"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RoundCandidateInline(admin.TabularInline):
    model = RoundCandidate
    extra = 0
    raw_id_fields = ["item"]


@admin.register(VotingRound)
class VotingRoundAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "method", "opens_at", "closes_at", "closed_at"]
    list_filter = ["method"]
    raw_id_fields = ["created_by", "adopted_by"]
    inlines = [RoundCandidateInline]


@admin.register(RoundCandidate)
class RoundCandidateAdmin(admin.ModelAdmin):
    list_display = ["round", "item", "position"]
    raw_id_fields = ["item"]


@admin.register(Ballot)
class BallotAdmin(admin.ModelAdmin):
    list_display = ["round", "voter", "cohort", "revisions", "updated_at"]
    raw_id_fields = ["voter"]


register_history(BenefitMetric, BenefitEstimate, ItemScoringInputs, Ballot)
