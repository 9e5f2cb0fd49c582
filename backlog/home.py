"""What the home page reads: what is waiting for the signed-in person, their products, and
(for admins and leaders) the organisation's.

The home combines layers (it reads the backlog, the show-and-tell and voting rounds), so it
lives here beside the show-and-tell rather than in a layer beneath. Every read is a fixed
number of queries however many products, rounds, sessions and items there are: lists are
fetched in one query each and grouped in Python, never one query per product.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from backlog.models import (
    GO_LIVE_ROLES,
    OPEN_STATUSES,
    BacklogItem,
    GoLiveSignature,
    ItemStatus,
    Product,
    ProductRole,
    ProductRoleKind,
    ShowAndTell,
)
from backlog.selectors import product_list
from backlog.selectors_capabilities import (
    BuiltTwice,
    capabilities_built_twice,
    capabilities_most_reused,
)
from customers.models import CohortKind, Membership
from prioritisation.models import Ballot, BenefitEstimate, VotingRound

# Item titles named in one go-live line; the rest are counted ("and 4 more").
NAMED_ITEMS = 3
# Go-live item rows read for the names; the counts come from their own query, so a product
# with hundreds of done items costs what one with three does.
NAMED_ITEM_ROWS = 200


@dataclass(frozen=True)
class BallotWaiting:
    """An open round the person may vote in and has not."""

    round_id: int
    title: str
    product_id: int
    product_name: str
    closes_at: datetime
    kind: str = "ballot"


@dataclass(frozen=True)
class SignaturesWaiting:
    """Done items of one product waiting for the person's signature for one role."""

    product_id: int
    product_name: str
    role: str
    role_label: str
    count: int
    titles: tuple[str, ...]
    # The product's latest unfinished show-and-tell, where signing happens; None when the
    # week's session has not been started yet.
    session_id: int | None
    kind: str = "signature"

    @property
    def more(self) -> int:
        return self.count - len(self.titles)


@dataclass(frozen=True)
class EstimatesWaiting:
    """Open items of a product the person owns that lack a benefit estimate or an effort."""

    product_id: int
    product_name: str
    count: int
    kind: str = "estimates"


@dataclass(frozen=True)
class SessionWaiting:
    """This week's show-and-tell of a product the person is delivery lead of, not finished."""

    session_id: int
    product_id: int
    product_name: str
    date: date
    kind: str = "session"


@dataclass
class YourProduct:
    product: Product
    roles: list[str] = field(default_factory=list)


@dataclass
class Home:
    waiting: list
    your_products: list[YourProduct]
    # All the organisation's products, for admins and leaders; None for everyone else.
    organisation_products: list[Product] | None
    is_admin: bool
    is_leader: bool
    # For admins and leaders: the capabilities most reused across products, and the ones
    # two products are building (the seeds' "be your own best customer").
    most_reused: list = field(default_factory=list)
    built_twice: list[BuiltTwice] = field(default_factory=list)


def is_leader(membership: Membership) -> bool:
    """A leader speaks for a cohort of people who steer (the default "Leaders")."""
    return membership.cohort is not None and membership.cohort.kind == CohortKind.STEERS


def _live_products(membership: Membership) -> QuerySet[Product]:
    return Product.objects.filter(
        organisation_id=membership.organisation_id, archived_at__isnull=True
    )


def _roles_by_product(user: AbstractBaseUser, membership: Membership) -> dict[int, set[str]]:
    rows = ProductRole.objects.filter(
        user=user,
        product__organisation_id=membership.organisation_id,
        product__archived_at__isnull=True,
    ).values_list("product_id", "role")
    roles: dict[int, set[str]] = defaultdict(set)
    for product_id, role in rows:
        roles[product_id].add(role)
    return roles


def _holding(roles: dict[int, set[str]], role: str) -> list[int]:
    return sorted(pk for pk, held in roles.items() if role in held)


def ballots_waiting(
    *, user: AbstractBaseUser, roles: dict[int, set[str]], now: datetime
) -> list[BallotWaiting]:
    """Open rounds of products the person is a business voter of, with no ballot of theirs,
    soonest to close first."""
    products = _holding(roles, ProductRoleKind.BUSINESS_VOTER)
    if not products:
        return []
    rounds = (
        VotingRound.objects.filter(
            product_id__in=products,
            closed_at__isnull=True,
            opens_at__lte=now,
            closes_at__gt=now,
        )
        .exclude(Exists(Ballot.objects.filter(round=OuterRef("pk"), voter=user)))
        .order_by("closes_at", "pk")
        .values_list("pk", "title", "product_id", "product__name", "closes_at")
    )
    return [BallotWaiting(*row) for row in rounds]


def _signed(role: str) -> Exists:
    return Exists(GoLiveSignature.objects.filter(item=OuterRef("pk"), role=role))


def signatures_waiting(*, roles: dict[int, set[str]]) -> list[SignaturesWaiting]:
    """Done items waiting for a go-live signature for a role the person holds, one line per
    product and role, with the product's latest unfinished show-and-tell to sign in.

    Three queries: the counts per product and role, a bounded list of titles to name, and
    the sessions."""
    held = {role.value: _holding(roles, role) for role in GO_LIVE_ROLES}
    held = {role: pks for role, pks in held.items() if pks}
    products = sorted({pk for pks in held.values() for pk in pks})
    if not products:
        return []
    done = BacklogItem.objects.filter(product_id__in=products, status=ItemStatus.DONE)
    counts = done.values("product_id", "product__name").annotate(
        **{
            f"n_{role}": Count("pk", filter=Q(product_id__in=pks) & ~_signed(role))
            for role, pks in held.items()
        }
    )
    counts = list(counts.order_by("product__name", "product_id"))
    if not counts:
        return []
    titles: dict[tuple[int, str], list[str]] = defaultdict(list)
    named = done.annotate(**{f"s_{role}": _signed(role) for role in held}).order_by(
        "product_id", "pk"
    )
    for row in named.values("product_id", "title", *(f"s_{role}" for role in held))[
        :NAMED_ITEM_ROWS
    ]:
        for role, pks in held.items():
            names = titles[row["product_id"], role]
            if row["product_id"] in pks and not row[f"s_{role}"] and len(names) < NAMED_ITEMS:
                names.append(row["title"])
    sessions: dict[int, int] = {}
    for product_id, session_id in (
        ShowAndTell.objects.filter(product_id__in=products, finished_at__isnull=True)
        .order_by("product_id", "-week_start", "-pk")
        .values_list("product_id", "pk")
    ):
        sessions.setdefault(product_id, session_id)
    lines = []
    for row in counts:
        for role in GO_LIVE_ROLES:
            count = row.get(f"n_{role.value}")
            if count:
                lines.append(
                    SignaturesWaiting(
                        product_id=row["product_id"],
                        product_name=row["product__name"],
                        role=role.value,
                        role_label=role.label,
                        count=count,
                        titles=tuple(titles[row["product_id"], role.value]),
                        session_id=sessions.get(row["product_id"]),
                    )
                )
    return lines


def needs_estimates(item_ref: str = "pk") -> Q:
    """Open items with no effort or no benefit estimate at all."""
    return Q(effort__isnull=True) | ~Exists(BenefitEstimate.objects.filter(item=OuterRef(item_ref)))


def estimates_waiting(*, roles: dict[int, set[str]]) -> list[EstimatesWaiting]:
    """Per product the person owns, how many open items need estimates (one query)."""
    owned = _holding(roles, ProductRoleKind.PRODUCT_OWNER)
    if not owned:
        return []
    rows = (
        BacklogItem.objects.filter(product_id__in=owned, status__in=OPEN_STATUSES)
        .filter(needs_estimates())
        .values("product_id", "product__name")
        .annotate(count=Count("pk"))
        .order_by("product__name", "product_id")
    )
    return [EstimatesWaiting(r["product_id"], r["product__name"], r["count"]) for r in rows]


def week_start(membership: Membership, now: datetime) -> date:
    """Monday of this week where the organisation is."""
    today = now.astimezone(ZoneInfo(membership.organisation.time_zone)).date()
    return date.fromordinal(today.toordinal() - today.weekday())


def sessions_waiting(
    *, membership: Membership, roles: dict[int, set[str]], now: datetime
) -> list[SessionWaiting]:
    """This week's unfinished show-and-tells of products the person is delivery lead of."""
    led = _holding(roles, ProductRoleKind.DELIVERY_LEAD)
    if not led:
        return []
    sessions = (
        ShowAndTell.objects.filter(
            product_id__in=led, week_start=week_start(membership, now), finished_at__isnull=True
        )
        .order_by("date", "product__name", "pk")
        .values_list("pk", "product_id", "product__name", "date")
    )
    return [SessionWaiting(*row) for row in sessions]


def home_for(
    *, user: AbstractBaseUser, membership: Membership, now: datetime | None = None
) -> Home:
    """Everything the home page shows for ``user`` in their organisation."""
    now = now or timezone.now()
    roles = _roles_by_product(user, membership)
    waiting = [
        *ballots_waiting(user=user, roles=roles, now=now),
        *signatures_waiting(roles=roles),
        *estimates_waiting(roles=roles),
        *sessions_waiting(membership=membership, roles=roles, now=now),
    ]
    products = product_list(organisation=membership.organisation).filter(archived_at__isnull=True)
    role_order = {role.value: i for i, role in enumerate(ProductRoleKind)}
    labels = dict(ProductRoleKind.choices)
    your_products = (
        [
            YourProduct(
                product=product,
                roles=[labels[r] for r in sorted(roles[product.pk], key=role_order.__getitem__)],
            )
            for product in products.filter(pk__in=list(roles))
        ]
        if roles
        else []
    )
    leader = is_leader(membership)
    home = Home(
        waiting=waiting,
        your_products=your_products,
        organisation_products=None,
        is_admin=membership.is_admin,
        is_leader=leader,
    )
    if membership.is_admin or leader:
        organisation = membership.organisation
        home.organisation_products = list(products)
        home.most_reused = capabilities_most_reused(organisation=organisation)
        home.built_twice = capabilities_built_twice(organisation=organisation)
    return home
