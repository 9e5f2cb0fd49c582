"""Load the demo: a fictional district council with three products, people in every role
and ~150 items. Safe to run twice: everything is looked up by a natural key first."""

from __future__ import annotations

import random
from collections import Counter
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from backlog import services
from backlog.management.commands.demo_data import CAPABILITIES, CAPABILITY_OWNERS, PRODUCTS
from backlog.management.commands.demo_past import Clock, Plan, plan
from backlog.models import (
    STATUS_TIMESTAMP_FIELD,
    BacklogItem,
    Capability,
    DigitisationLevel,
    GoLiveSignature,
    ItemEvent,
    ItemStatus,
    Product,
    ProductRoleKind,
)
from backlog.services.sessions import go_live_sign, local_today, session_for_week
from backlog.showandtell import Window, window
from customers.history import command_context, history_context
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
        # The demo's people are fictional (…@riverside.example): the notifications its work
        # sends (rounds opening, signatures waiting) are kept in memory, never delivered or
        # printed, when they are sent in this process (no Redis; a worker sends its own).
        before = len(getattr(mail, "outbox", []))
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            self._seed()
        sent = len(getattr(mail, "outbox", [])) - before
        if sent:
            self.stdout.write(
                f"{sent} notification e-mails to the demo's fictional addresses were made and "
                "kept in memory, not sent."
            )
        self._sign_in_help()

    def _seed(self) -> None:
        self.now = timezone.now()
        # Every moment the demo's past is dated at is before this; a row this run writes
        # is after it.
        self.cutoff = self.now - timedelta(minutes=10)
        with transaction.atomic():
            # Setting the council up is the command's doing, and the history says so...
            with command_context("seed_demo"):
                organisation = self._organisation()
                users = self._people(organisation)
                capabilities = self._capabilities(organisation)
                products = [self._product(organisation, spec, users) for spec in PRODUCTS]
                self._capability_owners(capabilities, products)
            # ... the team's work (items, their statuses, sign-offs, estimates, votes) is
            # each person's, made through the services as a real team's is (see _as).
            created = 0
            for spec, product in zip(PRODUCTS, products, strict=True):
                session, _ = session_for_week(product=product, day=local_today(product))
                created += self._items(product, spec, users, capabilities, window(session))
                self._estimates(product, users["analyst"])
                self._voting_round(product, users)
        total = BacklogItem.objects.filter(product__organisation=organisation).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {organisation.name}, {len(PRODUCTS)} products, "
                f"{created} new items ({total} in all)."
            )
        )

    def _sign_in_help(self) -> None:
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
        existing = {c.name: c for c in Capability.objects.filter(organisation=organisation)}
        return [
            existing.get(name)
            or services.capability_create(
                organisation=organisation, name=name, description=description
            )
            for name, description in CAPABILITIES
        ]

    def _capability_owners(self, capabilities: list[Capability], products: list[Product]):
        by_name = {product.name: product for product in products}
        for capability in capabilities:
            owner = by_name.get(CAPABILITY_OWNERS.get(capability.name, ""))
            if owner is not None and capability.owner_product_id is None:
                services.capability_update(
                    capability=capability,
                    name=capability.name,
                    description=capability.description,
                    owner_product=owner,
                    same_as=capability.same_as,
                )

    def _product(self, organisation: Organisation, spec: dict, users: dict) -> Product:
        product = Product.objects.filter(organisation=organisation, name=spec["name"]).first()
        if product is None:
            # As an admin creates one on the products page: its owner named in the same
            # transaction; the other roles are granted below, as on the people page.
            product = services.product_create(
                organisation=organisation,
                name=spec["name"],
                description=spec["description"],
                kind=spec["kind"],
                weekly_capacity=spec["weekly_capacity"],
                owner=users["owner"],
            )
        for username, _name, _org_role, _cohort, roles in PEOPLE:
            for role in roles:
                services.product_role_grant(product=product, user=users[username], role=role)
        return product

    def _items(
        self,
        product: Product,
        spec: dict,
        users: dict,
        capabilities: list[Capability],
        week: Window,
    ) -> int:
        rng = random.Random(spec["prefix"])  # same demo on every machine
        cohorts = list(Cohort.objects.filter(organisation=product.organisation).order_by("name"))
        existing = set(
            BacklogItem.objects.filter(product=product).values_list("external_key", flat=True)
        )
        clock = Clock(ZoneInfo(product.organisation.time_zone), self.now, week.start)
        seen: Counter[str] = Counter()
        created = 0
        for number, title in enumerate(spec["titles"], start=1):
            key = f"{spec['prefix']}-{number:03d}"
            status = STATUS_MIX[(number * 7) % len(STATUS_MIX)]
            nth = seen[status]
            seen[status] += 1
            if key in existing:
                continue
            level = rng.choice(DigitisationLevel.values)
            item_cohorts = rng.sample(cohorts, k=rng.choice([1, 1, 2, 2, 3]))
            caps = rng.sample(capabilities, k=rng.choice([0, 1, 1, 2]))
            builds = caps[:1] if rng.random() < 0.3 else []
            past = plan(status, nth=nth, number=number, clock=clock, rng=rng)
            owner = users["owner"]
            with self._as(owner):
                item = services.item_create(
                    product=product,
                    actor=owner,
                    title=title,
                    description=_story(product, item_cohorts),
                    digitisation_level=level,
                    status=past.created_as,
                    effort=Decimal(rng.choice(EFFORTS)) if rng.random() > 0.08 else None,
                    cohorts=item_cohorts,
                    builds=builds,
                    reuses=[c for c in caps if c not in builds],
                    external_key=key,
                )
            stamps = {"created_at": past.created}
            if past.created_as in STATUS_TIMESTAMP_FIELD:
                stamps[STATUS_TIMESTAMP_FIELD[past.created_as]] = past.created
            self._backdate(item, past.created, **stamps)
            self._live_through(item, past, users, item_cohorts)
            created += 1
        return created

    def _as(self, person) -> AbstractContextManager:
        """The history of what is written inside names ``person``, as a request of theirs
        would (and the command, so the demo's rows can be told apart)."""
        return history_context(user=person.pk, command="seed_demo")

    def _live_through(self, item: BacklogItem, past: Plan, users: dict, cohorts: list) -> None:
        """Move the item through its planned statuses and signatures, each by its person
        through the services, each recorded at its planned moment."""
        for status, who, moment in past.steps:
            person = users[who]
            with self._as(person):
                services.item_update(
                    item=item,
                    actor=person,
                    title=item.title,
                    description=item.description,
                    digitisation_level=item.digitisation_level,
                    status=status,
                    effort=item.effort,
                    cohorts=cohorts,
                )
            self._backdate(item, moment, **{STATUS_TIMESTAMP_FIELD[status]: moment})
        for who, role, moment in past.signatures:
            person = users[who]
            with self._as(person):
                live = go_live_sign(item=item, signer=person, role=role)
            self._backdate(item, moment, **({"live_at": moment} if live else {}))

    def _backdate(self, item: BacklogItem, moment: datetime, **stamps: datetime) -> None:
        """Date what the last change wrote (its item events, a signature) at ``moment``, and
        set the item's timestamps to match; the timestamps are not tracked, so this records
        no change of its own. The trigger-kept history is append-only (no code path may
        rewrite it): it keeps the true time the demo was loaded, with the person's name."""
        ItemEvent.objects.filter(item=item, created_at__gt=self.cutoff).update(created_at=moment)
        GoLiveSignature.objects.filter(item=item, signed_at__gt=self.cutoff).update(
            signed_at=moment
        )
        BacklogItem.objects.filter(pk=item.pk).update(updated_at=moment, **stamps)

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
        with self._as(analyst):
            BenefitEstimate.objects.bulk_create(rows)
            scores_recompute(product_id=product.pk)

    def _voting_round(self, product: Product, users: dict) -> None:
        """An open Schulze round on the top eight items, with three ballots already in."""
        if VotingRound.objects.filter(product=product).exists():
            return
        now = timezone.now()
        with self._as(users["owner"]):
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
            with self._as(users[username]):
                ballot_submit(round=round, voter=users[username], ranking=[[pk] for pk in ranked])
