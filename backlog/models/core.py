"""Products, their people, shared capabilities and backlog items."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from backlog.fields import OrderKeyField
from customers.history import INSERT, track_history


class ProductKind(models.TextChoices):
    PRODUCT = "product", "Product"
    PLATFORM = "platform", "Platform"
    ENTERPRISE_CAPABILITY = "enterprise_capability", "Enterprise capability"


class NewItemPosition(models.TextChoices):
    BOTTOM = "bottom", "Bottom of the backlog"
    TOP = "top", "Top of the backlog"


class ScoringMethod(models.TextChoices):
    BENEFIT_PER_EFFORT = "benefit_per_effort", "Benefit per effort"
    RICE = "rice", "RICE"
    WSJF = "wsjf", "WSJF"
    ICE = "ice", "ICE"
    MOSCOW = "moscow", "MoSCoW"


# HM Treasury Green Book supplementary guidance on optimism bias: upper bound of the
# works-duration uplift for equipment and development projects.
GREEN_BOOK_EFFORT_UPLIFT = Decimal("0.54")


# History: people's settings, not the time scores were last computed.
@track_history(
    "organisation",
    "name",
    "description",
    "kind",
    "weekly_capacity",
    "new_items_position",
    "show_and_tell_weekday",
    "scoring_method",
    "effort_uplift",
    "benefit_haircut",
    "optimism_reason",
    "archived_at",
)
class Product(models.Model):
    organisation = models.ForeignKey(
        "customers.Organisation", on_delete=models.CASCADE, related_name="products"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=32, choices=ProductKind.choices, default=ProductKind.PRODUCT)
    weekly_capacity = models.PositiveIntegerField(
        default=20, help_text="Points the team can deliver in a week."
    )
    new_items_position = models.CharField(
        max_length=8, choices=NewItemPosition.choices, default=NewItemPosition.BOTTOM
    )
    show_and_tell_weekday = models.PositiveSmallIntegerField(
        default=4,
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ],
        help_text="The day of the weekly show-and-tell, in the organisation's time zone.",
    )
    scoring_method = models.CharField(
        max_length=24, choices=ScoringMethod.choices, default=ScoringMethod.BENEFIT_PER_EFFORT
    )
    effort_uplift = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=GREEN_BOOK_EFFORT_UPLIFT,
        help_text="Optimism bias: effort estimates are multiplied by 1 + this.",
    )
    benefit_haircut = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text="Optimism bias: benefit estimates are multiplied by 1 − this.",
    )
    optimism_reason = models.TextField(
        blank=True,
        default="HM Treasury Green Book supplementary guidance: upper-bound works-duration "
        "uplift of 54% for equipment and development projects.",
    )
    scores_computed_at = models.DateTimeField(null=True, blank=True)
    # An archived product is read-only and leaves the home page and the portfolio; its
    # data is kept and it can be restored.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="product_unique_name_per_organisation"
            ),
            models.CheckConstraint(
                condition=Q(effort_uplift__gte=0), name="product_effort_uplift_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(benefit_haircut__gte=0) & Q(benefit_haircut__lt=1),
                name="product_benefit_haircut_fraction",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductRoleKind(models.TextChoices):
    PRODUCT_OWNER = "product_owner", "Product owner"
    SPONSOR = "sponsor", "Sponsor"
    BUSINESS_ANALYST = "business_analyst", "Business analyst"
    LEAD_ENGINEER = "lead_engineer", "Lead engineer"
    DELIVERY_LEAD = "delivery_lead", "Delivery lead"
    BUSINESS_VOTER = "business_voter", "Business voter"
    KEY_USER = "key_user", "Key user"
    VIEWER = "viewer", "Viewer"


# Roles that may write backlog items. Viewers, voters and key users read only.
ITEM_EDITOR_ROLES = frozenset(
    {
        ProductRoleKind.PRODUCT_OWNER,
        ProductRoleKind.BUSINESS_ANALYST,
        ProductRoleKind.LEAD_ENGINEER,
        ProductRoleKind.DELIVERY_LEAD,
    }
)


@track_history("product", "user", "role")
class ProductRole(models.Model):
    """One role a user holds on a product; a user may hold several."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_roles"
    )
    role = models.CharField(max_length=32, choices=ProductRoleKind.choices)

    class Meta:
        ordering = ["product", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "user", "role"], name="product_role_unique_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.product}"


class Capability(models.Model):
    """An organisation's shared building block (booking, payments, case management…)."""

    organisation = models.ForeignKey(
        "customers.Organisation", on_delete=models.CASCADE, related_name="capabilities"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # The product that builds and looks after it, if any.
    owner_product = models.ForeignKey(
        "Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_capabilities",
    )
    # Marked as the same capability as another one (named differently): both are then
    # reported as built twice when two products build them.
    same_as = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "capabilities"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="capability_unique_name_per_organisation"
            ),
        ]

    def __str__(self) -> str:
        return self.name


@track_history("organisation", "name", "description", "position", "archived_at")
class Principle(models.Model):
    """A technology principle the organisation holds items to (cloud native, mobile ready…)."""

    organisation = models.ForeignKey(
        "customers.Organisation", on_delete=models.CASCADE, related_name="principles"
    )
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="principle_unique_name_per_organisation"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The six principles of the seeds every piece of technology must meet.
DEFAULT_PRINCIPLES: tuple[dict, ...] = (
    {
        "name": "Cloud native",
        "description": "Runs on public cloud services, bought as a service, not hosted by us.",
    },
    {
        "name": "Mobile ready",
        "description": "Works on a phone as well as on a desk, for colleagues and citizens.",
    },
    {
        "name": "Interoperable",
        "description": "Shares its data with other systems through open APIs and standards.",
    },
    {
        "name": "Flexible",
        "description": "Built on shared platforms and capabilities, reused rather than rebuilt.",
    },
    {
        "name": "Enabling customers",
        "description": "Lets people serve themselves; shaped by evidence from user research.",
    },
    {
        "name": "Proportionately secure",
        "description": "Security matched to the risk: neither careless nor in the way.",
    },
)


class DigitisationLevel(models.TextChoices):
    ACCESS = "access", "Access"
    EFFICIENCY = "efficiency", "Efficiency"
    TRANSFORMATION = "transformation", "Transformation"


class ItemStatus(models.TextChoices):
    IDEA = "idea", "Idea"
    READY = "ready", "Ready"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    LIVE = "live", "Live"
    REJECTED = "rejected", "Rejected"


# Effort: points in tenths, as the column stores them (one decimal place), up to a size no
# single item sensibly reaches. One rule and one message for every way in: the quick add,
# the item form, the API and imports (the item services check it; forms and the API say it
# early, and their inputs' min/step/max come from here).
EFFORT_MIN = Decimal("0.1")
EFFORT_MAX = Decimal("1000")
EFFORT_STEP = Decimal("0.1")
EFFORT_RULE = (
    "Effort must be a number of points from 0.1 to 1,000, with at most one decimal place, "
    "or left empty."
)


def validate_effort(value: object) -> Decimal | None:
    """The effort as stored (None, or a Decimal with one decimal place); ``ValidationError``
    with ``EFFORT_RULE`` for anything else: not a finite number, out of range, or finer
    than a tenth of a point ("2.50" is 2.5; "0.05" is refused)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(EFFORT_RULE, code="effort")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise ValidationError(EFFORT_RULE, code="effort") from error
    if not number.is_finite() or not EFFORT_MIN <= number <= EFFORT_MAX or number % EFFORT_STEP:
        raise ValidationError(EFFORT_RULE, code="effort")
    return number.quantize(EFFORT_STEP)


# Items still to be built: the ones that are ranked, and that fill the team's capacity.
OPEN_STATUSES = (ItemStatus.IDEA, ItemStatus.READY, ItemStatus.IN_PROGRESS)

# The timestamp field set when an item enters each status.
STATUS_TIMESTAMP_FIELD = {
    ItemStatus.READY: "ready_at",
    ItemStatus.IN_PROGRESS: "started_at",
    ItemStatus.DONE: "done_at",
    ItemStatus.LIVE: "live_at",
    ItemStatus.REJECTED: "rejected_at",
}


class BacklogItemQuerySet(models.QuerySet):
    def in_manual_order(self) -> BacklogItemQuerySet:
        return self.order_by("rank_key")

    def search(self, text: str) -> BacklogItemQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(title__icontains=text) | Q(description__icontains=text))


# History: what people edit. Timestamps are left out; a bulk reorder writes under
# ``pgtrigger.ignore`` and is recorded once, as its OrderSnapshot (backlog.services.order).
@track_history(
    "product",
    "title",
    "description",
    "digitisation_level",
    "status",
    "effort",
    "rank_key",
    "pinned",
    "external_key",
)
class BacklogItem(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    digitisation_level = models.CharField(
        max_length=16, choices=DigitisationLevel.choices, default=DigitisationLevel.ACCESS
    )
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.IDEA)
    effort = models.DecimalField(
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        # The rule is validate_effort's (services check it): validators here would be a
        # migration, and would still leave each form with its own message.
        help_text="Effort in story points; leave empty until estimated.",
    )
    cohorts = models.ManyToManyField(
        "customers.Cohort", blank=True, related_name="items", verbose_name="target cohorts"
    )
    capabilities = models.ManyToManyField(
        Capability, blank=True, through="ItemCapability", related_name="items"
    )
    # Manual order: a fractional index, so a move rewrites one row whatever the backlog size.
    rank_key = OrderKeyField(max_length=64)
    # A pinned item keeps its place when the score order is applied.
    pinned = models.BooleanField(default=False)
    external_key = models.CharField(
        max_length=64, blank=True, help_text="Key in another tracker, e.g. a Jira issue key."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    live_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)

    objects = BacklogItemQuerySet.as_manager()

    class Meta:
        ordering = ["product", "rank_key"]
        constraints = [
            # Also the index behind the backlog page's "ORDER BY rank_key" per product.
            # Deferrable, checked when a statement ends: a bulk reorder writes every changed
            # key in one UPDATE, where items may swap keys (backlog.services.order).
            models.UniqueConstraint(
                fields=["product", "rank_key"],
                name="item_unique_rank_key_per_product",
                deferrable=models.Deferrable.IMMEDIATE,
            ),
            models.CheckConstraint(
                condition=Q(effort__isnull=True) | Q(effort__gt=0), name="item_effort_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ItemStatus.values), name="item_status_known"
            ),
        ]
        indexes = [
            # The backlog page's status filter within one product, kept in manual order.
            models.Index(fields=["product", "status", "rank_key"], name="item_product_status"),
            # The manual order's open items: a move's neighbours, the manual ranks of a page
            # and the capacity line, read by key (keyset), index-only (id and effort).
            models.Index(
                fields=["product", "rank_key"],
                include=["id", "effort"],
                condition=Q(status__in=[status.value for status in OPEN_STATUSES]),
                name="item_open_manual_order",
            ),
            # The show-and-tell's items done or gone live in a week.
            models.Index(
                fields=["product", "done_at"],
                condition=Q(done_at__isnull=False),
                name="item_done_at",
            ),
            models.Index(
                fields=["product", "live_at"],
                condition=Q(live_at__isnull=False),
                name="item_live_at",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CapabilityUse(models.TextChoices):
    BUILDS = "builds", "Builds"
    REUSES = "reuses", "Reuses"


class ItemCapability(models.Model):
    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE)
    capability = models.ForeignKey(Capability, on_delete=models.CASCADE)
    use = models.CharField(
        max_length=8, choices=CapabilityUse.choices, default=CapabilityUse.REUSES
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "capability"], name="item_capability_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.use} {self.capability}"


class PrincipleAnswer(models.TextChoices):
    MEETS = "meets", "Meets"
    DOES_NOT = "does_not", "Does not meet"
    NOT_APPLICABLE = "n_a", "Not applicable"


@track_history("item", "principle", "answer", "note")
class ItemPrincipleCheck(models.Model):
    """An item checked against one of the organisation's principles, with a note."""

    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="principle_checks")
    principle = models.ForeignKey(Principle, on_delete=models.CASCADE, related_name="checks")
    answer = models.CharField(max_length=8, choices=PrincipleAnswer.choices)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["principle__position", "principle__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "principle"], name="item_principle_check_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.principle} {self.answer}"


class ItemEventKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    STATUS = "status", "Status changed"
    MOVED = "moved", "Moved"
    PINNED = "pinned", "Pinned or unpinned"
    SIGNED = "signed", "Signed for go-live"
    WITHDRAWN = "withdrawn", "Withdrew a go-live signature"
    WENT_LIVE = "went_live", "Went live"
    ESTIMATED = "estimated", "Benefit estimated"


class ItemEvent(models.Model):
    """History: who changed what on an item, and when."""

    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ItemEventKind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The item page's history list, newest first.
            models.Index(fields=["item", "-created_at"], name="item_event_item_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.item_id} at {self.created_at:%Y-%m-%d %H:%M}"


class ReorderKind(models.TextChoices):
    SCORE_ORDER = "score_order", "Applied the score order"
    VOTE_ORDER = "vote_order", "Adopted a vote order"
    UNDO = "undo", "Undid a reorder"


# One event per bulk reorder (not the keys: the row keeps them, and they can be large).
@track_history("product", "actor", "kind", "note", events=(INSERT,))
class OrderSnapshot(models.Model):
    """The manual order of a whole product just before a bulk reorder, so it can be undone.

    ``keys`` is ``[[item id, rank key], ...]``; one row per bulk reorder, whatever the size.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="snapshots")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ReorderKind.choices)
    note = models.TextField(blank=True)
    keys = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # "Undo": the product's latest reorder that has not been undone.
            models.Index(fields=["product", "-created_at"], name="snapshot_product_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.product} at {self.created_at:%Y-%m-%d %H:%M}"


class OrderVersion(models.Model):
    """A counter that moves whenever the manual order of a product's open items may have
    changed: an item added, deleted, moved (its key) or opened or closed (its status).

    Kept by statement-level triggers on the items table (PostgreSQL, migration 0011), so
    every way of writing items, the ORM, raw SQL and the Django admin alike, moves it; no
    code path has to remember to. Pages that number items scattered over the product (the
    score order) cache the manual ranks under the version and use them while it stands.
    There is no row before the product's first change; SQLite keeps none (no triggers).
    No foreign-key constraint: deleting a product deletes its items, whose trigger writes
    this row again; the row of a deleted product is left behind, harmless (ids are not
    reused).
    """

    product = models.OneToOneField(
        Product,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="order_version",
    )
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.product} order version {self.version}"
