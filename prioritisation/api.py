"""API v1 for benefit metrics, estimates and stored scores.

Same permissions as the pages: objects are loaded through ``backlog.permissions`` (404 for
another organisation's, 403 for a role that may not write) before any work, and writes go
through ``prioritisation.services``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backlog.models import BacklogItem
from backlog.permissions import item_for_user, organisation_or_404
from customers.selectors import cohort_list
from prioritisation import selectors, services
from prioritisation.models import BenefitEstimate, BenefitMetric, Confidence, ItemScore

NOT_FOUND = OpenApiResponse(description="No such item in your organisation.")

# ---------------------------------------------------------------- metrics


class MetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = BenefitMetric
        fields = ["id", "name", "unit", "description", "weight", "higher_is_better"]
        read_only_fields = fields


class MetricListView(generics.ListAPIView):
    """The organisation's benefit metrics: the ids that estimates refer to.

    Any member may read them (every item page shows them in its estimates grid); changing
    them stays with organisation admins on the metrics pages."""

    serializer_class = MetricSerializer

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
    cohort = serializers.IntegerField(help_text="Id of one of the organisation's cohorts.")
    metric = serializers.IntegerField(help_text="Id of one of the organisation's metrics.")
    value = serializers.DecimalField(
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
    evidence = serializers.CharField(allow_blank=True, max_length=2000, default="")

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
    parser_classes = [JSONParser]

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
        "in the list (or with a null value) is cleared. Returns the grid as saved.",
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
