"""Load the demo: a fictional district council with three products, people in every role
and ~150 items. Safe to run twice: everything is looked up by a natural key first."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from backlog import services
from backlog.management.commands.demo_data import CAPABILITIES, PRODUCTS
from backlog.models import (
    STATUS_TIMESTAMP_FIELD,
    BacklogItem,
    Capability,
    DigitisationLevel,
    ItemStatus,
    Product,
    ProductRoleKind,
)
from backlog.services.sessions import local_today, session_for_week
from customers.history import command_context
from customers.models import Cohort, Membership, Organisation, OrganisationRole
from customers.services import membership_create, organisation_create
from prioritisation.models import BenefitEstimate, BenefitMetric, VotingRound
from prioritisation.services import ballot_submit, round_create, scores_recompute

DEMO_PASSWORD = "benefit-demo"  # noqa: S105 - printed for the demo on purpose
ORG_SLUG = "riverside"

# username, full name, organisation role, cohort, product role(s) on every product
PEOPLE = [
    ("admin", "Ada Admin", OrganisationRole.ADMIN, "Leaders", []),
    ("owner", "Olu Owner", OrganisationRole.MEMBER, "Colleagues", [ProductRoleKind.PRODUCT_OWNER]),
    ("sponsor", "Sam Sponsor", OrganisationRole.MEMBER, "Leaders", [ProductRoleKind.SPONSOR]),
    (
        "analyst",
        "Bea Analyst",
        OrganisationRole.MEMBER,
        "Colleagues",
        [ProductRoleKind.BUSINESS_ANALYST],
    ),
    (
        "engineer",
        "Lee Engineer",
        OrganisationRole.MEMBER,
        "Colleagues",
        [ProductRoleKind.LEAD_ENGINEER],
    ),
    (
        "delivery",
        "Dev Delivery",
        OrganisationRole.MEMBER,
        "Colleagues",
        [ProductRoleKind.DELIVERY_LEAD],
    ),
    ("voter", "Vic Voter", OrganisationRole.MEMBER, "Colleagues", [ProductRoleKind.BUSINESS_VOTER]),
    (
        "citizen",
        "Cat Citizen-Panel",
        OrganisationRole.MEMBER,
        "Citizens",
        [ProductRoleKind.BUSINESS_VOTER],
    ),
    ("leader", "Lin Leader", OrganisationRole.MEMBER, "Leaders", [ProductRoleKind.BUSINESS_VOTER]),
    ("keyuser", "Kim Key-User", OrganisationRole.MEMBER, "Colleagues", [ProductRoleKind.KEY_USER]),
    ("viewer", "Val Viewer", OrganisationRole.MEMBER, "Colleagues", [ProductRoleKind.VIEWER]),
]

STATUS_MIX = (
    [ItemStatus.IDEA] * 14
    + [ItemStatus.READY] * 16
    + [ItemStatus.IN_PROGRESS] * 6
    + [ItemStatus.DONE] * 7
    + [ItemStatus.LIVE] * 5
    + [ItemStatus.REJECTED] * 2
)
EFFORTS = [1, 2, 3, 5, 8, 13, 20]
METRIC_RANGES = {
    "Staff hours saved": (5, 400),
    "Phone calls avoided": (20, 2000),
    "Satisfaction": (1, 15),
    "Cash saved": (500, 50000),
    "Days faster to a decision": (1, 20),
}
EVIDENCE = [
    "Contact centre call logs, last quarter.",
    "Key user feedback from the front line.",
    "Benchmark from a neighbouring council's rollout.",
    "Time-and-motion study with the team.",
    "Resident survey, 412 responses.",
    "",
]


def _story(product: Product, cohorts: list[Cohort]) -> str:
    who = " and ".join(c.name.lower() for c in cohorts)
    return (
        f"As someone served by {product.name.lower()}, I want this "
        f"so that {who} get a faster, simpler service."
    )


class Command(BaseCommand):
    help = "Create the Riverside District Council demo (idempotent)."

    def handle(self, *args, **options) -> None:
        # Its writes appear in the history as done by this command, not by a person.
        with command_context("seed_demo"), transaction.atomic():
            organisation = self._organisation()
            users = self._people(organisation)
            capabilities = self._capabilities(organisation)
            created = 0
            for spec in PRODUCTS:
                product = self._product(organisation, spec, users)
                created += self._items(product, spec, users["owner"], capabilities)
                self._estimates(product, users["analyst"])
                self._voting_round(product, users)
                session_for_week(product=product, day=local_today(product))
        total = BacklogItem.objects.filter(product__organisation=organisation).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {organisation.name}, {len(PRODUCTS)} products, "
                f"{created} new items ({total} in all)."
            )
        )
        self.stdout.write(f"Sign in at http://127.0.0.1:8000/ with password '{DEMO_PASSWORD}' as:")
        for username, name, org_role, cohort, roles in PEOPLE:
            what = ", ".join(r.label for r in roles) or org_role.label
            self.stdout.write(f"  {username:10} {name} ({what}; cohort {cohort})")

    def _organisation(self) -> Organisation:
        organisation = Organisation.objects.filter(slug=ORG_SLUG).first()
        if organisation is None:
            organisation = organisation_create(name="Riverside District Council", slug=ORG_SLUG)
        return organisation

    def _people(self, organisation: Organisation) -> dict:
        user_model = get_user_model()
        cohorts = {c.name: c for c in Cohort.objects.filter(organisation=organisation)}
        users = {}
        for username, name, org_role, cohort, _roles in PEOPLE:
            first, last = name.split(" ", 1)
            user, made = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@riverside.example",
                },
            )
            if made:
                user.set_password(DEMO_PASSWORD)
                user.save()
            elif user.is_staff or user.is_superuser:
                self._demote(user, organisation)
            if not Membership.objects.filter(user=user).exists():
                membership_create(
                    user=user, organisation=organisation, role=org_role, cohort=cohorts.get(cohort)
                )
            users[username] = user
        return users

    def _demote(self, user, organisation: Organisation) -> None:
        """Earlier versions made the demo's organisation admin a Django superuser, who could
        then read and change every organisation's rows in /admin/. The Django admin is the
        site operator's alone, so a demo person is demoted on every run. A staff account that
        is not a demo person is the operator's own, under a demo name: refuse rather than
        demote it or enrol it in the demo."""
        if not Membership.objects.filter(user=user, organisation=organisation).exists():
            raise CommandError(
                f"The user '{user.get_username()}' is a Django staff account outside the demo "
                "and has a demo person's name. Rename it (the operator's account can be called "
                "anything but a demo username) and run seed_demo again."
            )
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])

    def _capabilities(self, organisation: Organisation) -> list[Capability]:
        return [
            Capability.objects.get_or_create(
                organisation=organisation, name=name, defaults={"description": description}
            )[0]
            for name, description in CAPABILITIES
        ]

    def _product(self, organisation: Organisation, spec: dict, users: dict) -> Product:
        product = Product.objects.filter(organisation=organisation, name=spec["name"]).first()
        if product is None:
            product = services.product_create(
                organisation=organisation,
                name=spec["name"],
                description=spec["description"],
                kind=spec["kind"],
                weekly_capacity=spec["weekly_capacity"],
            )
        for username, _name, _org_role, _cohort, roles in PEOPLE:
            for role in roles:
                services.product_role_grant(product=product, user=users[username], role=role)
        return product

    def _items(self, product: Product, spec: dict, owner, capabilities: list[Capability]) -> int:
        rng = random.Random(spec["prefix"])  # same demo on every machine
        cohorts = list(Cohort.objects.filter(organisation=product.organisation).order_by("name"))
        existing = set(
            BacklogItem.objects.filter(product=product).values_list("external_key", flat=True)
        )
        now = timezone.now()
        created = 0
        for number, title in enumerate(spec["titles"], start=1):
            key = f"{spec['prefix']}-{number:03d}"
            if key in existing:
                continue
            status = STATUS_MIX[(number * 7) % len(STATUS_MIX)]
            level = rng.choice(DigitisationLevel.values)
            item_cohorts = rng.sample(cohorts, k=rng.choice([1, 1, 2, 2, 3]))
            caps = rng.sample(capabilities, k=rng.choice([0, 1, 1, 2]))
            builds = caps[:1] if rng.random() < 0.3 else []
            item = services.item_create(
                product=product,
                actor=owner,
                title=title,
                description=_story(product, item_cohorts),
                digitisation_level=level,
                status=ItemStatus.IDEA,
                effort=Decimal(rng.choice(EFFORTS)) if rng.random() > 0.08 else None,
                cohorts=item_cohorts,
                builds=builds,
                reuses=[c for c in caps if c not in builds],
                external_key=key,
            )
            self._backdate(item, status, now, rng)
            created += 1
        return created

    def _estimates(self, product: Product, analyst) -> None:
        """Benefit estimates for every item that has none, for its target cohorts."""
        if BenefitEstimate.objects.filter(item__product=product).exists():
            return
        metrics = list(BenefitMetric.objects.filter(organisation=product.organisation))
        rng = random.Random(f"estimates-{product.name}")
        rows = []
        for item in BacklogItem.objects.filter(product=product).prefetch_related("cohorts"):
            if rng.random() < 0.06:
                continue  # a few items still need estimates, as in real life
            for cohort in item.cohorts.all():
                for metric in rng.sample(metrics, k=rng.choice([1, 1, 2, 3])):
                    low, high = METRIC_RANGES.get(metric.name, (1, 100))
                    rows.append(
                        BenefitEstimate(
                            item=item,
                            cohort=cohort,
                            metric=metric,
                            value=Decimal(rng.randint(low, high)),
                            confidence=rng.choice(["high", "medium", "medium", "low"]),
                            evidence=rng.choice(EVIDENCE),
                            updated_by=analyst,
                        )
                    )
        BenefitEstimate.objects.bulk_create(rows)
        scores_recompute(product_id=product.pk)

    def _voting_round(self, product: Product, users: dict) -> None:
        """An open Schulze round on the top eight items, with three ballots already in."""
        if VotingRound.objects.filter(product=product).exists():
            return
        now = timezone.now()
        round = round_create(
            product=product,
            actor=users["owner"],
            title=f"What should {product.name.lower()} build next?",
            method="schulze",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=6),
            shortlist_size=8,
        )
        shortlist = list(round.candidates.order_by("position").values_list("item_id", flat=True))
        rng = random.Random(f"votes-{product.name}")
        for username in ("voter", "citizen", "leader"):
            ranked = rng.sample(shortlist, k=5)
            ballot_submit(round=round, voter=users[username], ranking=[[pk] for pk in ranked])

    def _backdate(self, item: BacklogItem, status: str, now, rng: random.Random) -> None:
        """Give the item a plausible past: it entered each earlier status days apart."""
        path = [ItemStatus.READY, ItemStatus.IN_PROGRESS, ItemStatus.DONE, ItemStatus.LIVE]
        stamps = {"created_at": now - timedelta(days=rng.randint(40, 200))}
        if status == ItemStatus.REJECTED:
            stamps["rejected_at"] = now - timedelta(days=rng.randint(1, 30))
        elif status != ItemStatus.IDEA:
            steps = path[: path.index(status) + 1]
            moment = now - timedelta(days=rng.randint(0, 4) + 7 * (len(steps)))
            for step in steps:
                moment += timedelta(days=rng.randint(3, 7))
                stamps[STATUS_TIMESTAMP_FIELD[step]] = min(moment, now)
        BacklogItem.objects.filter(pk=item.pk).update(status=status, **stamps)
