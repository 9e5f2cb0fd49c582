"""API v1 for benefit metrics, estimates, stored scores, voting rounds and ballots.

Same permissions as the pages: objects are loaded through ``backlog.permissions`` (404 for
another organisation's, 403 for a role that may not write) before any work, and writes go
through ``prioritisation.services``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backlog.models import BacklogItem
from backlog.permissions import item_for_user, organisation_or_404, product_for_user
from config.rest import StrictCharField, StrictDecimalField, StrictIntegerField
from customers.selectors import cohort_list
from prioritisation import results, selectors, services
from prioritisation.models import (
    Ballot,
    BenefitEstimate,
    BenefitMetric,
    Confidence,
    ItemScore,
    RoundCandidate,
    VotingMethod,
    VotingRound,
)
from prioritisation.permissions import require_voter, round_for_user

NOT_FOUND = OpenApiResponse(description="No such item in your organisation.")

# ---------------------------------------------------------------- metrics


class MetricSerializer(serializers.ModelSerializer):
    archived_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Null while the metric is in use. An archived metric takes no new "
        "estimates; the estimates made against it stay and still count in scores.",
    )

    class Meta:
        model = BenefitMetric
        fields = ["id", "name", "unit", "description", "weight", "higher_is_better", "archived_at"]
        read_only_fields = fields


class MetricListView(generics.ListAPIView):
    """The organisation's benefit metrics: the ids that estimates refer to, archived ones
    included (marked by ``archived_at``), since existing estimates may refer to them.

    Any member may read them (every item page shows them in its estimates grid); changing
    them stays with organisation admins on the metrics pages."""

    serializer_class = MetricSerializer
    # Pages by cursor on the name, unique in the organisation
    # (metric_unique_name_per_organisation, whose index serves the page).
    ordering = ("name", "pk")

    def get_queryset(self) -> QuerySet[BenefitMetric]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return BenefitMetric.objects.none()
        return selectors.metric_list(organisation=organisation_or_404(self.request.user))


# ---------------------------------------------------------------- scores


class ScoreSummarySerializer(serializers.ModelSerializer):
    """An item's stored score as the backlog list shows it."""

    class Meta:
        model = ItemScore
        fields = ["score", "raw_score", "benefit", "raw_benefit", "rank", "needs_estimates"]
        read_only_fields = fields


class ItemScoreSerializer(serializers.ModelSerializer):
    by_cohort = serializers.DictField(
        child=serializers.FloatField(),
        read_only=True,
        help_text="Share of the score per cohort, keyed by cohort id.",
    )
    by_metric = serializers.DictField(
        child=serializers.FloatField(),
        read_only=True,
        help_text="Share of the score per metric, keyed by metric id.",
    )
    cohort_ranks = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Rank if only that cohort counted, keyed by cohort id; empty when closed.",
    )

    class Meta:
        model = ItemScore
        fields = [
            *ScoreSummarySerializer.Meta.fields,
            "method",
            "by_cohort",
            "by_metric",
            "cohort_ranks",
            "computed_at",
        ]
        read_only_fields = fields


class ItemScoreView(APIView):
    @extend_schema(
        responses={
            200: ItemScoreSerializer,
            404: OpenApiResponse(description="No such item, or the item is not scored yet."),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        item = item_for_user(request.user, pk)
        score = selectors.item_score(item=item)
        if score is None:
            raise NotFound(
                "This item has not been scored yet. Large backlogs are scored in the "
                "background: try again in a minute."
            )
        return Response(ItemScoreSerializer(score).data)


# ---------------------------------------------------------------- estimates


class EstimateSerializer(serializers.ModelSerializer):
    cohort = serializers.IntegerField(source="cohort_id", read_only=True)
    metric = serializers.IntegerField(source="metric_id", read_only=True)

    class Meta:
        model = BenefitEstimate
        fields = ["cohort", "metric", "value", "confidence", "evidence", "updated_at"]
        read_only_fields = fields


class EstimateGridSerializer(serializers.ListSerializer):
    def validate(self, attrs: list[dict]) -> list[dict]:
        seen = set()
        for cell in attrs:
            key = (cell["cohort"].pk, cell["metric"].pk)
            if key in seen:
                raise serializers.ValidationError(
                    f"{cell['metric'].name} for {cell['cohort'].name} is given more than once."
                )
            seen.add(key)
        return attrs


class EstimateInputSerializer(serializers.Serializer):
    """One cell of the item's cohort × metric grid."""

    # Context: ``cohorts`` and ``metrics``, the organisation's, keyed by id (one query each
    # for the whole grid).
    cohort = StrictIntegerField(help_text="Id of one of the organisation's cohorts.")
    metric = StrictIntegerField(help_text="Id of one of the organisation's metrics.")
    value = StrictDecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        help_text="The expected change in the metric's unit, as a number or a string; "
        "null clears the cell.",
        error_messages={
            "invalid": "Enter a number, like 12 or 3.5.",
            "max_whole_digits": "That number is too large: at most 12 digits before the point.",
            "max_digits": "That number is too large: at most 14 digits in all.",
            "max_decimal_places": "At most 2 decimal places.",
        },
    )
    confidence = serializers.ChoiceField(
        choices=Confidence.choices,
        default=Confidence.MEDIUM,
        error_messages={"invalid_choice": 'Confidence must be high, medium or low, not "{input}".'},
    )
    evidence = StrictCharField(allow_blank=True, max_length=2000, default="")

    class Meta:
        list_serializer_class = EstimateGridSerializer

    def validate_cohort(self, value: int):
        cohort = self.context["cohorts"].get(value)
        if cohort is None:
            raise serializers.ValidationError(
                f"Cohort {value} is not one of your organisation's cohorts."
            )
        return cohort

    def validate_metric(self, value: int):
        metric = self.context["metrics"].get(value)
        if metric is None:
            raise serializers.ValidationError(
                f"Metric {value} is not one of your organisation's benefit metrics."
            )
        return metric


def _estimates(item: BacklogItem) -> list[dict]:
    cells = sorted(
        selectors.estimate_grid(item=item).values(), key=lambda e: (e.cohort_id, e.metric_id)
    )
    return EstimateSerializer(cells, many=True).data


class ItemEstimatesView(APIView):
    @extend_schema(responses={200: EstimateSerializer(many=True), 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        item = item_for_user(request.user, pk)
        return Response(_estimates(item))

    @extend_schema(
        request=EstimateInputSerializer(many=True),
        responses={
            200: EstimateSerializer(many=True),
            400: OpenApiResponse(description="Invalid cells; nothing saved. Messages by cell."),
            403: OpenApiResponse(description="Your role on this product does not allow changes."),
            404: NOT_FOUND,
        },
        description="Replace the item's whole estimates grid, all or nothing: a cell not "
        "in the list (or with a null value) is cleared. A new estimate for an archived "
        "cohort or metric is refused (400); one that exists may be changed or cleared. "
        "Returns the grid as saved.",
    )
    def put(self, request: Request, pk: int) -> Response:
        item = item_for_user(request.user, pk, write=True)
        organisation = organisation_or_404(request.user)
        cohorts = {c.pk: c for c in cohort_list(organisation=organisation)}
        metrics = {m.pk: m for m in selectors.metric_list(organisation=organisation)}
        serializer = EstimateInputSerializer(
            data=request.data, many=True, context={"cohorts": cohorts, "metrics": metrics}
        )
        serializer.is_valid(raise_exception=True)
        given = {
            (cell["cohort"].pk, cell["metric"].pk): services.EstimateCell(**cell)
            for cell in serializer.validated_data
        }
        # Every other cell of the grid is sent as cleared, as the page's full grid form does;
        # the service then compares against the grid it reads under the item lock, so a cell
        # added by someone else meanwhile is cleared too rather than silently kept.
        cleared = [
            services.EstimateCell(cohort=cohort, metric=metric, value=None)
            for cohort in cohorts.values()
            for metric in metrics.values()
            if (cohort.pk, metric.pk) not in given
        ]
        try:
            services.estimates_save(
                item=item, actor=request.user, cells=[*given.values(), *cleared]
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return Response(_estimates(item))


# ---------------------------------------------------------------- voting rounds

ROUND_NOT_FOUND = OpenApiResponse(description="No such voting round in your organisation.")
PRODUCT_NOT_FOUND = OpenApiResponse(description="No such product in your organisation.")
NOT_A_VOTER = "Only the product's business voters can vote in this round."


class RoundSerializer(serializers.ModelSerializer):
    closed_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Null until the round is closed: by the scheduler at closes_at, or on the "
        "first look at its result or ballot after that.",
    )
    candidates = serializers.SerializerMethodField(
        help_text="Ids of the shortlisted items, in shortlist order (by score)."
    )

    class Meta:
        model = VotingRound
        fields = [
            "id",
            "title",
            "method",
            "opens_at",
            "closes_at",
            "closed_at",
            "cohort_weighting",
            "candidates",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_candidates(self, round: VotingRound) -> list[int]:
        # Prefetched in shortlist order by the view: no query per round.
        return [candidate.item_id for candidate in round.candidates.all()]


class ProductRoundsView(generics.ListAPIView):
    """The product's voting rounds, newest first. Any member of the organisation may read
    them, as on the rounds page."""

    serializer_class = RoundSerializer
    # Newest opening first, paged by cursor on the opening time: nearly unique (rounds
    # opened at the same moment are told apart by the cursor's place among them), and a
    # product has tens of rounds, which the product's foreign-key index finds.
    ordering = ("-opens_at", "-pk")

    def get_queryset(self) -> QuerySet[VotingRound]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return VotingRound.objects.none()
        product = product_for_user(self.request.user, self.kwargs["pk"])
        return VotingRound.objects.filter(product=product).prefetch_related(
            Prefetch(
                "candidates",
                queryset=RoundCandidate.objects.order_by("position").only(
                    "round_id", "item_id", "position"
                ),
            )
        )

    @extend_schema(responses={200: RoundSerializer(many=True), 404: PRODUCT_NOT_FOUND})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class TurnoutSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    voted = serializers.IntegerField(read_only=True)
    eligible = serializers.IntegerField(read_only=True)
    voice_weight = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Null when the round does not weight cohorts."
    )


class RoundResultSerializer(serializers.Serializer):
    """The result as the results page shows it: live while the round is open, frozen once
    it has closed. Cohort keys are cohort ids, or "none" for voters in no cohort."""

    round = serializers.IntegerField(read_only=True)
    closed = serializers.BooleanField(
        read_only=True, help_text="True once the round has closed and its result is frozen."
    )
    method = serializers.CharField(read_only=True)
    candidates = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Item ids in shortlist order: the rows and columns of pairwise.",
    )
    ranking = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        read_only=True,
        help_text="The consensus order as tiers of item ids, best first; a tier is a tie.",
    )
    scores = serializers.DictField(
        child=serializers.FloatField(),
        read_only=True,
        help_text="Each item's score under the method, keyed by item id (empty for some).",
    )
    pairwise = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        read_only=True,
        help_text="pairwise[i][j]: weighted voters preferring candidates[i] to candidates[j].",
    )
    by_cohort = serializers.DictField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.IntegerField())),
        read_only=True,
        help_text="Each cohort's own consensus (tiers of item ids), keyed by cohort.",
    )
    turnout = serializers.DictField(child=TurnoutSerializer(), read_only=True)
    ballots = serializers.IntegerField(read_only=True, help_text="Number of ballots cast.")
    voter_agreement = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Mean Kendall's tau between voters' orders; null with fewer than two.",
    )
    vote_vs_score = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Kendall's tau between the consensus and the score order; null without ballots.",
    )
    score_order = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text="Item ids in score order."
    )


class RoundResultView(APIView):
    @extend_schema(
        responses={200: RoundResultSerializer, 404: ROUND_NOT_FOUND},
        description="The round's live result while it is open, its frozen result once it has "
        "closed. Any member of the organisation may read it, as on the results page.",
    )
    def get(self, request: Request, pk: int) -> Response:
        round = round_for_user(request.user, pk)
        outcome = results.round_result(round)
        data = {**outcome, "round": round.pk, "closed": round.closed_at is not None}
        return Response(RoundResultSerializer(data).data)


class BallotSerializer(serializers.ModelSerializer):
    round = serializers.IntegerField(source="round_id", read_only=True)
    cohort = serializers.IntegerField(
        source="cohort_id",
        read_only=True,
        allow_null=True,
        help_text="The cohort the voter spoke for when voting.",
    )
    ranking = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        read_only=True,
        help_text="Ranked methods: tiers of item ids, best first.",
    )
    points = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Dot voting: dots per item id.",
    )

    class Meta:
        model = Ballot
        fields = ["round", "cohort", "ranking", "points", "submitted_at", "updated_at", "revisions"]
        read_only_fields = fields


class BallotInputSerializer(serializers.Serializer):
    """A ranking for the ranked methods, or points for dot voting. The voter is always the
    signed-in user: any other field (a "voter" among them) is ignored."""

    # Context: ``method``, the round's voting method.
    ranking = serializers.ListField(
        child=serializers.ListField(child=StrictIntegerField()),
        required=False,
        help_text="Ranked methods: tiers of item ids, best first, e.g. [[12], [7, 9]] (7 and "
        "9 tie second). Items left out tie below every ranked one.",
    )
    points = serializers.DictField(
        child=StrictIntegerField(min_value=0),
        required=False,
        help_text='Dot voting: dots per item id, e.g. {"12": 3, "7": 1}, within the budget.',
    )

    def validate(self, attrs: dict) -> dict:
        if self.context["method"] == VotingMethod.DOTS:
            if "points" not in attrs:
                raise serializers.ValidationError(
                    {"points": "This round is dot voting: send points per item id."}
                )
            return {"points": attrs["points"]}
        if "ranking" not in attrs:
            raise serializers.ValidationError(
                {"ranking": "This round takes a ranking: send tiers of item ids, best first."}
            )
        return {"ranking": attrs["ranking"]}


class RoundBallotView(APIView):
    @extend_schema(
        responses={
            200: BallotSerializer,
            403: OpenApiResponse(description=NOT_A_VOTER),
            404: OpenApiResponse(description="No such round, or you have not voted in it."),
        },
        description="Your own ballot in the round.",
    )
    def get(self, request: Request, pk: int) -> Response:
        round = round_for_user(request.user, pk)
        require_voter(request.user, round)
        ballot = Ballot.objects.filter(round=round, voter=request.user).first()
        if ballot is None:
            raise NotFound("You have not voted in this round.")
        return Response(BallotSerializer(ballot).data)

    @extend_schema(
        request=BallotInputSerializer,
        responses={
            200: BallotSerializer,
            201: BallotSerializer,
            400: OpenApiResponse(
                description="The ballot was refused (round closed or not open yet, unknown "
                "item, over the dot budget...); nothing saved."
            ),
            403: OpenApiResponse(description=NOT_A_VOTER),
            404: ROUND_NOT_FOUND,
        },
        description="Cast your ballot (201) or replace it (200) while the round is open.",
    )
    def put(self, request: Request, pk: int) -> Response:
        round = round_for_user(request.user, pk)
        require_voter(request.user, round)
        serializer = BallotInputSerializer(data=request.data, context={"method": round.method})
        serializer.is_valid(raise_exception=True)
        try:
            ballot = services.ballot_submit(
                round=round, voter=request.user, **serializer.validated_data
            )
        except services.BallotRefused as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
        created = ballot.revisions == 1
        return Response(
            BallotSerializer(ballot).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
