"""API v1 for products, backlog items and show-and-tells.

Same permissions as the pages: objects are loaded through ``backlog.permissions`` (404 for
another organisation's, 403 for a role that may not write) before any work, reads go
through ``backlog.selectors`` and writes through ``backlog.services``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backlog import selectors, services
from backlog.models import (
    EFFORT_MAX,
    EFFORT_MIN,
    EFFORT_RULE,
    GO_LIVE_ROLES,
    BacklogItem,
    CapabilityUse,
    DecisionKind,
    DigitisationLevel,
    ItemStatus,
    PrincipleAnswer,
    Product,
    ShowAndTell,
)
from backlog.permissions import (
    item_for_user,
    organisation_or_404,
    product_for_user,
    product_people_roles,
    session_for_user,
)
from backlog.selectors_capabilities import capability_choices
from backlog.selectors_principles import PRINCIPLE_FILTERS, item_principles
from backlog.showandtell import DONE_LIMIT, GO_LIVE_LIMIT, session_sections
from config.rest import StrictCharField, StrictDecimalField, StrictIntegerField
from customers.selectors import cohort_list
from prioritisation.api import ScoreSummarySerializer

NOT_FOUND = OpenApiResponse(description="No such product or item in your organisation.")
WRITE_ERRORS = {
    400: OpenApiResponse(description="Invalid input; nothing saved. Messages by field."),
    403: OpenApiResponse(description="Your role on this product does not allow changes."),
    404: NOT_FOUND,
}

# ---------------------------------------------------------------- products


class ProductSerializer(serializers.ModelSerializer):
    open_items = serializers.IntegerField(read_only=True)
    done_items = serializers.IntegerField(read_only=True)
    live_items = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "weekly_capacity",
            "scoring_method",
            "effort_uplift",
            "benefit_haircut",
            "scores_computed_at",
            "open_items",
            "done_items",
            "live_items",
        ]
        read_only_fields = fields


class ProductListView(generics.ListAPIView):
    """The products of the user's organisation, with their item counts."""

    serializer_class = ProductSerializer
    # Pages by cursor on this key (config.rest.CursorPagination): the name is unique in the
    # organisation (product_unique_name_per_organisation, whose index serves the page).
    ordering = ("name", "pk")

    def get_queryset(self) -> QuerySet[Product]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Product.objects.none()
        return selectors.product_list(organisation=organisation_or_404(self.request.user))


# ---------------------------------------------------------------- items


class ItemSerializer(serializers.ModelSerializer):
    cohorts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    score = ScoreSummarySerializer(
        read_only=True, allow_null=True, help_text="Null until the item is scored."
    )

    class Meta:
        model = BacklogItem
        fields = [
            "id",
            "title",
            "description",
            "status",
            "digitisation_level",
            "effort",
            "cohorts",
            "rank_key",
            "created_at",
            "updated_at",
            "score",
        ]
        read_only_fields = fields


class ItemCapabilitySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="capability_id")
    name = serializers.CharField(source="capability.name")
    use = serializers.ChoiceField(choices=CapabilityUse.choices)


class PrincipleCheckSerializer(serializers.Serializer):
    principle = serializers.IntegerField(source="principle.pk")
    name = serializers.CharField(source="principle.name")
    answer = serializers.ChoiceField(
        choices=[("", "Not answered"), *PrincipleAnswer.choices],
        help_text="Empty until the item is checked against the principle.",
    )
    note = serializers.CharField()


class ItemDetailSerializer(ItemSerializer):
    """One item: the list's fields, with the capabilities it builds or reuses and its checks
    against the organisation's active technology principles (read-only here)."""

    capabilities = ItemCapabilitySerializer(many=True, read_only=True, source="itemcapability_set")
    principle_checks = serializers.SerializerMethodField()

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "capabilities", "principle_checks"]
        read_only_fields = fields

    @extend_schema_field(PrincipleCheckSerializer(many=True))
    def get_principle_checks(self, item: BacklogItem) -> list[dict]:
        return PrincipleCheckSerializer(item_principles(item=item), many=True).data


class ItemRowSerializer(ItemSerializer):
    """An item as the list gives it: the same fields, the cohorts read from the list that
    ``selectors.item_list`` prefetched."""

    cohorts = serializers.PrimaryKeyRelatedField(many=True, read_only=True, source="listed_cohorts")


class ItemInputSerializer(serializers.Serializer):
    """An item's editable fields. On create only the title is required; the others take
    the same defaults as on the page (no description, idea, access, no effort, no cohorts).
    """

    # Context: ``organisation``.
    # No defaults here: on create the service's defaults apply, on PATCH the item's values.
    title = StrictCharField(max_length=200)
    description = StrictCharField(allow_blank=True, required=False)
    status = serializers.ChoiceField(
        choices=ItemStatus.choices,
        required=False,
        help_text="Any status but live: an item goes live through its four sign-offs.",
    )
    digitisation_level = serializers.ChoiceField(choices=DigitisationLevel.choices, required=False)
    effort = StrictDecimalField(
        max_digits=7,
        decimal_places=1,
        allow_null=True,
        required=False,
        # The item rule (backlog.models.validate_effort), in the schema and with its message
        # for every way a value can break it.
        min_value=EFFORT_MIN,
        max_value=EFFORT_MAX,
        error_messages=dict.fromkeys(
            (
                "invalid",
                "min_value",
                "max_value",
                "max_digits",
                "max_decimal_places",
                "max_whole_digits",
                "max_string_length",
            ),
            EFFORT_RULE,
        ),
        help_text="Story points from 0.1 to 1,000 with at most one decimal place, as a number "
        "or a string; null until estimated.",
    )
    cohorts = serializers.ListField(
        child=StrictIntegerField(),
        required=False,
        help_text="Ids of the organisation's cohorts the item is for.",
    )

    # Effort above 0 and "live only through the sign-offs" are the item services' rules;
    # their ValidationError becomes this endpoint's 400 (see _api_error).

    def validate_cohorts(self, value: list[int]) -> list:
        known = {c.pk: c for c in cohort_list(organisation=self.context["organisation"])}
        unknown = [pk for pk in value if pk not in known]
        if unknown:
            ids = ", ".join(str(pk) for pk in unknown)
            raise serializers.ValidationError(f"Not one of your organisation's cohorts: {ids}.")
        return [known[pk] for pk in dict.fromkeys(value)]


class ItemFilterSerializer(serializers.Serializer):
    """The backlog page's filters, as query parameters. Empty means any."""

    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False, allow_blank=True)
    level = serializers.ChoiceField(
        choices=DigitisationLevel.choices, required=False, allow_blank=True
    )
    cohort = serializers.IntegerField(required=False, allow_null=True)
    q = serializers.CharField(required=False, allow_blank=True, help_text="Search text.")
    capability = serializers.IntegerField(
        required=False, allow_null=True, help_text="Items that build or reuse this capability."
    )
    principles = serializers.ChoiceField(
        choices=list(PRINCIPLE_FILTERS.items()),
        required=False,
        allow_blank=True,
        help_text="Open items with an active technology principle unanswered, or failing one.",
    )

    def validate_capability(self, value: int | None) -> int | None:
        organisation = self.context["organisation"]
        known = dict(capability_choices(organisation=organisation))
        if value is not None and value not in known:
            raise serializers.ValidationError(
                f"Capability {value} is not one of your organisation's capabilities."
            )
        return value

    def validate_cohort(self, value: int | None) -> int | None:
        organisation = self.context["organisation"]
        if (
            value is not None
            and not cohort_list(organisation=organisation).filter(pk=value).exists()
        ):
            raise serializers.ValidationError(
                f"Cohort {value} is not one of your organisation's cohorts."
            )
        return value

    def filters(self) -> selectors.ItemFilters:
        data = self.validated_data
        return selectors.ItemFilters(
            status=data.get("status", ""),
            level=data.get("level", ""),
            cohort=data.get("cohort"),
            q=data.get("q", ""),
            capability=data.get("capability"),
            principles=data.get("principles", ""),
        )


def _api_error(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's refusal as a 400 with its messages."""
    return serializers.ValidationError(serializers.as_serializer_error(error))


def _item_response(request: Request, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
    # Read back through the permission helper: the joins the output needs, and the score
    # the service has just refreshed.
    item = item_for_user(request.user, pk)
    return Response(ItemDetailSerializer(item).data, status=status_code)


class ProductItemsView(generics.GenericAPIView):
    serializer_class = ItemSerializer
    # The manual order, paged by cursor: rank_key is unique in the product, and the
    # item_unique_rank_key_per_product index finds the page after any key, so the last
    # page costs what the first does.
    ordering = ("rank_key", "pk")

    @extend_schema(
        parameters=[ItemFilterSerializer],
        responses={200: ItemSerializer(many=True), 400: WRITE_ERRORS[400], 404: NOT_FOUND},
        description="The product's items in manual order (rank_key), filtered like the page.",
    )
    def get(self, request: Request, pk: int) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ItemRowSerializer(page, many=True).data)

    def get_queryset(self) -> QuerySet[BacklogItem]:
        # Also called by the browsable API's renderer, so it does the permission check too.
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return BacklogItem.objects.none()
        product = product_for_user(self.request.user, self.kwargs["pk"])
        query = ItemFilterSerializer(
            data=self.request.query_params,
            context={"organisation": organisation_or_404(self.request.user)},
        )
        query.is_valid(raise_exception=True)
        return selectors.item_list(product=product, filters=query.filters())

    @extend_schema(
        request=ItemInputSerializer,
        responses={201: ItemDetailSerializer, **WRITE_ERRORS},
        description="Add an item at the top or bottom of the backlog (the product's setting).",
    )
    def post(self, request: Request, pk: int) -> Response:
        product = product_for_user(request.user, pk, write=True)
        serializer = ItemInputSerializer(
            data=request.data, context={"organisation": organisation_or_404(request.user)}
        )
        serializer.is_valid(raise_exception=True)
        try:
            item = services.item_create(
                product=product, actor=request.user, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise _api_error(error) from error
        response = _item_response(request, item.pk, status.HTTP_201_CREATED)
        response["Location"] = reverse("api:item_detail", args=[item.pk])
        return response


class ItemDetailView(generics.GenericAPIView):
    serializer_class = ItemDetailSerializer

    @extend_schema(responses={200: ItemDetailSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return _item_response(request, pk)

    @extend_schema(
        request=ItemInputSerializer,
        responses={200: ItemDetailSerializer, **WRITE_ERRORS},
        description="Change some of an item's fields; the others keep their values.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        item = item_for_user(request.user, pk, write=True)
        serializer = ItemInputSerializer(
            data=request.data,
            partial=True,
            context={"organisation": organisation_or_404(request.user)},
        )
        serializer.is_valid(raise_exception=True)
        # A PATCH changes only what it names; item_update keeps the capability links when
        # it is given none (this API does not expose them).
        fields = {
            "title": item.title,
            "description": item.description,
            "digitisation_level": item.digitisation_level,
            "status": item.status,
            "effort": item.effort,
            "cohorts": list(item.cohorts.all()),
            **serializer.validated_data,
        }
        try:
            services.item_update(item=item, actor=request.user, **fields)
        except DjangoValidationError as error:
            raise _api_error(error) from error
        return _item_response(request, pk)


# ---------------------------------------------------------------- show-and-tells

SESSION_FORBIDDEN = OpenApiResponse(
    description="Only the product's people (any role on it) or an organisation admin."
)


class SessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShowAndTell
        fields = ["id", "date", "week_start", "finished_at", "digest_sent_at"]
        read_only_fields = fields


class ProductSessionsView(generics.ListAPIView):
    """The product's show-and-tells, newest first."""

    serializer_class = SessionSerializer
    # Newest first, paged by cursor on the week: one session per product per week
    # (show_and_tell_one_per_week, whose index serves the page).
    ordering = ("-week_start", "-pk")

    def get_queryset(self) -> QuerySet[ShowAndTell]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ShowAndTell.objects.none()
        product = product_for_user(self.request.user, self.kwargs["pk"])
        product_people_roles(self.request.user, product)
        return ShowAndTell.objects.filter(product=product)

    @extend_schema(
        responses={
            200: SessionSerializer(many=True),
            403: SESSION_FORBIDDEN,
            404: OpenApiResponse(description="No such product in your organisation."),
        }
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True, help_text="Full name, or the username.")


class DoneRowSerializer(serializers.Serializer):
    pk = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=ItemStatus.choices, read_only=True)
    finished_at = serializers.DateTimeField(read_only=True)
    by = serializers.CharField(read_only=True, help_text="Who moved it to done or live.")


class BenefitRowSerializer(serializers.Serializer):
    metric = serializers.CharField(read_only=True)
    unit = serializers.CharField(read_only=True)
    values = serializers.ListField(
        child=serializers.DecimalField(max_digits=None, decimal_places=2),
        read_only=True,
        help_text="The estimated benefit per cohort, in the order of the table's cohorts.",
    )
    total = serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True)


class BenefitTableSerializer(serializers.Serializer):
    cohorts = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Cohort names, the columns."
    )
    rows = BenefitRowSerializer(many=True, read_only=True)


class NextUpRowSerializer(serializers.Serializer):
    pk = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    effort = serializers.DecimalField(
        max_digits=7, decimal_places=1, read_only=True, allow_null=True
    )
    manual_rank = serializers.IntegerField(read_only=True)
    score = serializers.FloatField(read_only=True, allow_null=True)
    score_rank = serializers.IntegerField(read_only=True, allow_null=True)
    vote_rank = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Place in the latest closed round's result."
    )
    disagreement = serializers.CharField(read_only=True)


class SignatureSerializer(serializers.Serializer):
    signer = PersonSerializer(read_only=True)
    signed_at = serializers.DateTimeField(read_only=True)


class GoLiveRowSerializer(serializers.Serializer):
    item = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    signatures = serializers.DictField(
        child=SignatureSerializer(allow_null=True),
        read_only=True,
        help_text="The four go-live roles, each with its signature or null if not signed.",
    )


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=DecisionKind.choices, read_only=True)
    text = serializers.CharField(read_only=True)
    owner = PersonSerializer(read_only=True, allow_null=True, help_text="Actions: who does it.")
    agreed_by = PersonSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class SessionDetailSerializer(SessionSerializer):
    """A show-and-tell with its sections, as the session page shows them."""

    product = serializers.IntegerField(read_only=True, help_text="The product's id.")
    done = DoneRowSerializer(
        many=True, read_only=True, help_text=f"The first {DONE_LIMIT}, by finishing time."
    )
    done_count = serializers.IntegerField(read_only=True)
    done_effort = serializers.DecimalField(max_digits=None, decimal_places=1, read_only=True)
    week_benefit = BenefitTableSerializer(read_only=True)
    quarter_benefit = BenefitTableSerializer(read_only=True)
    next_up = NextUpRowSerializer(many=True, read_only=True)
    next_up_frozen = serializers.BooleanField(
        read_only=True, help_text="True once the group has confirmed next up for this session."
    )
    go_live = GoLiveRowSerializer(
        many=True, read_only=True, help_text=f"The oldest {GO_LIVE_LIMIT} done items waiting."
    )
    go_live_waiting = serializers.IntegerField(read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta(SessionSerializer.Meta):
        fields = [
            *SessionSerializer.Meta.fields,
            "product",
            "done",
            "done_count",
            "done_effort",
            "week_benefit",
            "quarter_benefit",
            "next_up",
            "next_up_frozen",
            "go_live",
            "go_live_waiting",
            "decisions",
        ]
        read_only_fields = fields


def _person(person) -> dict | None:
    """A person as the show-and-tell sections carry them (``showandtell.Person``)."""
    if person is None:
        return None
    return {"id": person.pk, "name": person.name}


def _benefit_table(table) -> dict:
    return {
        "cohorts": table.cohorts,
        "rows": [
            {
                "metric": row["metric"],
                "unit": row["unit"],
                "values": [cell["value"] for cell in row["cells"]],
                "total": row["total"],
            }
            for row in table.rows
        ],
    }


def _session_detail(session: ShowAndTell) -> dict:
    """The session page's sections as plain data (a fixed number of queries)."""
    sections = session_sections(session)
    return {
        "id": session.pk,
        "product": session.product_id,
        "date": session.date,
        "week_start": session.week_start,
        "finished_at": session.finished_at,
        "digest_sent_at": session.digest_sent_at,
        "done": sections["done"],
        "done_count": sections["done_count"],
        "done_effort": sections["done_effort"],
        "week_benefit": _benefit_table(sections["week_benefit"]),
        "quarter_benefit": _benefit_table(sections["quarter_benefit"]),
        "next_up": sections["next_up"],
        "next_up_frozen": sections["next_up_frozen"],
        "go_live": [
            {
                "item": row.pk,
                "title": row.title,
                "signatures": {
                    role.value: (
                        {"signer": _person(signature.signer), "signed_at": signature.signed_at}
                        if (signature := row.signatures.get(role.value))
                        else None
                    )
                    for role in GO_LIVE_ROLES
                },
            }
            for row in sections["go_live"]
        ],
        "go_live_waiting": sections["go_live_waiting"],
        "decisions": [
            {
                "id": decision.pk,
                "kind": decision.kind,
                "text": decision.text,
                "owner": _person(decision.owner),
                "agreed_by": [_person(person) for person in decision.agreed_by],
                "created_at": decision.created_at,
            }
            for decision in sections["decisions"]
        ],
    }


class SessionDetailView(APIView):
    @extend_schema(
        responses={
            200: SessionDetailSerializer,
            403: SESSION_FORBIDDEN,
            404: OpenApiResponse(description="No such show-and-tell in your organisation."),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        session, _roles = session_for_user(request.user, pk)
        return Response(SessionDetailSerializer(_session_detail(session)).data)
