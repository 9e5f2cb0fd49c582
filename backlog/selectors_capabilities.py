"""Reads for the organisation's shared capabilities: the catalogue, who builds and reuses
each one, who waits on whom, and what is built twice. Always scoped to one organisation.

Items of archived products and rejected items neither build nor reuse anything here: an
archived product has left the organisation's work, and a rejected item will not be built.
Every read below runs a fixed number of queries, whatever the number of capabilities,
products and items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from backlog.models import (
    OPEN_STATUSES,
    BacklogItem,
    Capability,
    CapabilityUse,
    ItemCapability,
    ItemStatus,
    Product,
)
from customers.models import Organisation

# How many of a capability's items its page lists, and how many waiting items an item's
# page names, before it says how many more there are.
DETAIL_LIMIT = 200
WAITING_LIMIT = 20

# An item link that counts: its item is not rejected and its product is not archived.
_COUNTED_STATUSES = [status for status in ItemStatus.values if status != ItemStatus.REJECTED]
_LIVE_LINK = Q(
    itemcapability__item__product__archived_at__isnull=True,
    itemcapability__item__status__in=_COUNTED_STATUSES,
)


def _counted_links() -> QuerySet[ItemCapability]:
    return ItemCapability.objects.filter(
        item__product__archived_at__isnull=True, item__status__in=_COUNTED_STATUSES
    )


def capability_list(*, organisation: Organisation) -> QuerySet[Capability]:
    """The organisation's capabilities with their owner product (and the one each is marked
    the same as), and ``build_count`` / ``reuse_count``: how many items across every
    product build or reuse it. One query."""
    builds = _LIVE_LINK & Q(itemcapability__use=CapabilityUse.BUILDS)
    reuses = _LIVE_LINK & Q(itemcapability__use=CapabilityUse.REUSES)
    return (
        Capability.objects.filter(organisation=organisation)
        .select_related("owner_product", "same_as")
        .annotate(
            # One join through the link table: the link's use and its item's state.
            build_count=Count("itemcapability", filter=builds, distinct=True),
            reuse_count=Count("itemcapability", filter=reuses, distinct=True),
        )
        .order_by("name", "pk")  # GROUP BY drops Meta.ordering
    )


def capability_get(*, organisation: Organisation, pk: int) -> Capability | None:
    return (
        Capability.objects.filter(organisation=organisation, pk=pk)
        .select_related("owner_product", "same_as")
        .first()
    )


@dataclass(frozen=True)
class CapabilityItems:
    """The items of every product that build or reuse one capability, for its page."""

    links: list[ItemCapability]
    build_count: int
    reuse_count: int
    # (product, number of its items using the capability), for "see in the backlog" links.
    products: list[tuple[Product, int]]

    @property
    def total(self) -> int:
        return self.build_count + self.reuse_count

    @property
    def more(self) -> int:
        return max(self.total - len(self.links), 0)


def capability_items(*, capability: Capability, limit: int = DETAIL_LIMIT) -> CapabilityItems:
    """Who builds and who reuses the capability: the first ``limit`` links (builders first,
    then by product and manual order), the counts, and the products. Two queries."""
    links = _counted_links().filter(capability=capability)
    rows = list(
        links.select_related("item__product").order_by(
            "use", "item__product__name", "item__product_id", "item__rank_key"
        )[:limit]
    )
    per_product: dict[int, list] = {}
    counts = {CapabilityUse.BUILDS: 0, CapabilityUse.REUSES: 0}
    for product_id, product_name, use, n in (
        links.values_list("item__product_id", "item__product__name", "use")
        .annotate(n=Count("pk"))
        .order_by("item__product__name", "item__product_id")
    ):
        counts[use] += n
        entry = per_product.setdefault(product_id, [Product(pk=product_id, name=product_name), 0])
        entry[1] += n
    return CapabilityItems(
        links=rows,
        build_count=counts[CapabilityUse.BUILDS],
        reuse_count=counts[CapabilityUse.REUSES],
        products=[(product, n) for product, n in per_product.values()],
    )


def capability_choices(*, organisation: Organisation) -> list[tuple[int, str]]:
    """(id, name) of the organisation's capabilities, for the backlog's filter."""
    return list(
        Capability.objects.filter(organisation=organisation)
        .order_by("name")
        .values_list("pk", "name")
    )


# ---------------------------------------------------------------- waiting on each other


@dataclass(frozen=True)
class ItemWaits:
    """What an item waits for, and who waits for it.

    ``waits_for``: the open items of other products that build a capability this item
    reuses (while this item is open). ``waited_on_by``: the first open items of other
    products that reuse a capability this item builds (while it is open), one link per
    item, and how many items there are in all."""

    waits_for: list[ItemCapability] = field(default_factory=list)
    waited_on_by: list[ItemCapability] = field(default_factory=list)
    waited_on_count: int = 0

    @property
    def waited_on_more(self) -> int:
        return max(self.waited_on_count - len(self.waited_on_by), 0)


def item_waits(*, item: BacklogItem, limit: int = WAITING_LIMIT) -> ItemWaits:
    """The item's waiting dependencies through shared capabilities, both ways.

    Reads the item's own links from ``item.itemcapability_set`` (``selectors.item_get``
    prefetches them), then at most three queries (the items it waits for, the first items
    waiting for it and how many there are), whatever the number of items."""
    if item.status not in OPEN_STATUSES:
        return ItemWaits()
    own = list(item.itemcapability_set.all())
    reused = [link.capability_id for link in own if link.use == CapabilityUse.REUSES]
    built = [link.capability_id for link in own if link.use == CapabilityUse.BUILDS]
    others = (
        ItemCapability.objects.filter(
            item__status__in=OPEN_STATUSES, item__product__archived_at__isnull=True
        )
        .exclude(item__product_id=item.product_id)
        .select_related("item__product", "capability")
    )
    waits_for: list[ItemCapability] = []
    if reused:
        waits_for = list(
            others.filter(capability_id__in=reused, use=CapabilityUse.BUILDS).order_by(
                "capability__name", "item__product__name", "item__rank_key"
            )[:limit]
        )
    waited_on_by: list[ItemCapability] = []
    count = 0
    if built:
        waiting = others.filter(capability_id__in=built, use=CapabilityUse.REUSES)
        links = waiting.order_by("item__product__name", "item__product_id", "item__rank_key")
        fetched = list(links[: limit * 2])
        seen: set[int] = set()
        for link in fetched:
            # An item reusing two of these capabilities is one item waiting.
            if link.item_id not in seen and len(waited_on_by) < limit:
                seen.add(link.item_id)
                waited_on_by.append(link)
        count = waiting.values("item_id").distinct().count()
    return ItemWaits(waits_for=waits_for, waited_on_by=waited_on_by, waited_on_count=count)


# ---------------------------------------------------------------- for the organisation home


def capabilities_most_reused(*, organisation: Organisation, limit: int = 5) -> list[Capability]:
    """The capabilities reused by the most products (then the most items), each with
    ``reuse_products`` and ``reuse_count`` (items) and its owner product. Capabilities
    nobody reuses are left out. One query."""
    reuses = _LIVE_LINK & Q(itemcapability__use=CapabilityUse.REUSES)
    return list(
        Capability.objects.filter(organisation=organisation)
        .select_related("owner_product")
        .annotate(
            reuse_count=Count("itemcapability", filter=reuses, distinct=True),
            reuse_products=Count("itemcapability__item__product", filter=reuses, distinct=True),
        )
        .filter(reuse_count__gt=0)
        .order_by("-reuse_products", "-reuse_count", "name", "pk")[:limit]
    )


@dataclass(frozen=True)
class BuiltTwice:
    """Capabilities that two or more products are building: one capability built by
    several products, or capabilities marked as the same one, built by different products.
    ``capabilities`` are the group's built ones, in name order; ``products`` are the
    products building any of them, in name order, each with the capabilities it builds in
    ``builds`` (a list)."""

    capabilities: list[Capability]
    products: list[Product]

    @property
    def name(self) -> str:
        return " / ".join(capability.name for capability in self.capabilities)


def capabilities_built_twice(*, organisation: Organisation) -> list[BuiltTwice]:
    """Capabilities being built twice in the organisation, each group once. Two queries:
    the capabilities (with their same-as marks) and the distinct (capability, product)
    pairs of items that build them."""
    capabilities = {
        c.pk: c
        for c in Capability.objects.filter(organisation=organisation).only(
            "pk", "name", "same_as_id", "owner_product_id"
        )
    }
    # Capabilities marked as the same one form groups (either way round, transitively).
    parent = {pk: pk for pk in capabilities}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for capability in capabilities.values():
        if capability.same_as_id in parent:
            parent[root(capability.pk)] = root(capability.same_as_id)
    builders: dict[int, dict[int, Product]] = {}
    built: dict[int, set[int]] = {}
    pairs = (
        _counted_links()
        .filter(capability__organisation=organisation, use=CapabilityUse.BUILDS)
        .values_list("capability_id", "item__product_id", "item__product__name")
        .distinct()
        .order_by()
    )
    for capability_id, product_id, product_name in pairs:
        group = root(capability_id)
        product = builders.setdefault(group, {}).get(product_id)
        if product is None:
            product = Product(pk=product_id, name=product_name, organisation=organisation)
            product.builds = []
            builders[group][product_id] = product
        product.builds.append(capabilities[capability_id])
        built.setdefault(group, set()).add(capability_id)
    found = []
    for group, products in builders.items():
        if len(products) < 2:
            continue
        members = sorted(
            (capabilities[pk] for pk in built[group]), key=lambda c: (c.name.lower(), c.pk)
        )
        for product in products.values():
            product.builds.sort(key=lambda c: (c.name.lower(), c.pk))
        found.append(
            BuiltTwice(
                capabilities=members,
                products=sorted(products.values(), key=lambda p: (p.name.lower(), p.pk)),
            )
        )
    return sorted(found, key=lambda g: (g.name.lower(), g.capabilities[0].pk))
