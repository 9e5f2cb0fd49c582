"""Show-and-tell page of a large product: server time (median) and query count.

Full size: 100,000 items, 500 of them finished this week (half done and waiting for sign-off,
half live), each with benefit estimates and the status event that says who finished it;
--quick: 2,000 items, 100 finished. Target ≤ 100 ms at 100k (moonshot ≤ 50 ms). The query
count is also taken with half as many finished, to show that it does not grow with the
week's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from bench._django import _analyze, bench_database, count_queries, make_product_with_items
from bench._util import median_seconds, row

TARGET_MS = 100
MOONSHOT_MS = 50


def _people(organisation, product) -> dict[str, object]:
    """One holder of each go-live role, members of the organisation."""
    from django.contrib.auth import get_user_model

    from backlog.models import GO_LIVE_ROLES, ProductRole
    from customers.services import membership_create

    people = {}
    for role in GO_LIVE_ROLES:
        user = get_user_model().objects.create_user(
            username=f"bench-{role.value}-{product.pk}",
            password="pw",
            first_name=role.label.split()[0],
            last_name="Bench",
        )
        membership_create(user=user, organisation=organisation)
        ProductRole.objects.create(product=product, user=user, role=role)
        people[role.value] = user
    return people


def _retire_old_done(product) -> None:
    """make_product_with_items leaves a quarter of the items "done" with no date; in a real
    backlog those went live long ago, so they are neither this week's work nor waiting for
    sign-off."""
    from django.utils import timezone

    from backlog.models import BacklogItem, ItemStatus

    long_ago = timezone.now() - timedelta(days=400)
    BacklogItem.objects.filter(product=product, status=ItemStatus.DONE).update(
        status=ItemStatus.LIVE, done_at=long_ago, live_at=long_ago
    )


def _finish(
    product, pks: Sequence[int], *, start: datetime, end: datetime, people: dict, offset: int
) -> None:
    """Mark ``pks`` finished between ``start`` and ``end``: alternately done (some already
    partly signed) and live, with benefit estimates and the status events naming who
    finished them."""
    from backlog.models import (
        GO_LIVE_ROLES,
        BacklogItem,
        GoLiveSignature,
        ItemEvent,
        ItemEventKind,
        ItemStatus,
    )
    from prioritisation.models import BenefitEstimate

    cohorts = list(product.organisation.cohorts.order_by("pk"))
    metrics = list(product.organisation.metrics.order_by("pk"))
    engineer = people["lead_engineer"]
    step = (end - start) / max(len(pks), 1)
    items = list(BacklogItem.objects.filter(pk__in=pks).order_by("pk"))
    events, estimates, signatures = [], [], []
    for n, item in enumerate(items, start=offset):
        item.done_at = start + step * (n - offset)
        live = n % 2 == 1
        if live:
            item.status, item.live_at = ItemStatus.LIVE, item.done_at + step / 2
        else:
            item.status, item.live_at = ItemStatus.DONE, None
            # Every other waiting item has one to three of its four signatures already.
            for role in GO_LIVE_ROLES[: (n // 2) % 4]:
                signatures.append(GoLiveSignature(item=item, role=role, signer=people[role.value]))
        events.append(
            ItemEvent(
                item=item,
                actor=engineer,
                kind=ItemEventKind.STATUS,
                data={"from": ItemStatus.IN_PROGRESS, "to": ItemStatus.DONE},
            )
        )
        for j in range(4):  # distinct (cohort, metric) pairs: the metric index differs
            estimates.append(
                BenefitEstimate(
                    item=item,
                    cohort=cohorts[(n + j) % len(cohorts)],
                    metric=metrics[(n + j) % len(metrics)],
                    value=Decimal((n * 7 + j * 13) % 200 + 1),
                )
            )
    BacklogItem.objects.bulk_update(items, ["status", "done_at", "live_at"], batch_size=1000)
    ItemEvent.objects.bulk_create(events, batch_size=1000)
    BenefitEstimate.objects.bulk_create(estimates, batch_size=1000)
    GoLiveSignature.objects.bulk_create(signatures, batch_size=1000)
    _analyze()


def _history(product, people: dict) -> None:
    """Every item's "created" event, so the status lookup searches a realistic table."""
    from backlog.models import BacklogItem, ItemEvent, ItemEventKind

    actor = people["business_analyst"]
    ItemEvent.objects.bulk_create(
        (
            ItemEvent(item_id=pk, actor=actor, kind=ItemEventKind.CREATED)
            for pk in BacklogItem.objects.filter(product=product).values_list("pk", flat=True)
        ),
        batch_size=5000,
    )


def _decisions(session, people: dict) -> None:
    from backlog.services.sessions import decision_add

    users = list(people.values())
    for n in range(5):
        decision_add(
            session=session,
            actor=people["delivery_lead"],
            kind="action" if n % 2 else "decision",
            text=f"Bench decision {n}: agree what to do about item {n}",
            owner=users[n % len(users)] if n % 2 else None,
            agreed_by=users[: n % 4 + 1],
        )


def run(quick: bool) -> Iterable[dict]:
    size, finished = (2_000, 100) if quick else (100_000, 500)
    repeat = 11 if quick else 31
    with bench_database() as vendor:
        from django.test import Client
        from django.urls import reverse
        from django.utils import timezone

        from backlog.services.sessions import local_today, session_for_week, week_start_of
        from backlog.showandtell import window

        organisation, product, _owner = make_product_with_items(size, name=f"Show {size}")
        # The session is today's, so everything finished since Monday is in its window,
        # whatever the day the benchmark runs.
        today = local_today(product)
        product.show_and_tell_weekday = today.weekday()
        product.save(update_fields=["show_and_tell_weekday"])
        people = _people(organisation, product)
        _retire_old_done(product)
        _history(product, people)
        session, _ = session_for_week(product=product, day=today)
        _decisions(session, people)

        zone = ZoneInfo(organisation.time_zone)
        monday = datetime.combine(week_start_of(today), datetime.min.time(), tzinfo=zone)
        span = window(session)
        start = max(monday, span.start)
        end = min(timezone.now(), span.end) - timedelta(seconds=1)
        # Spread through the backlog's manual order, not just its top.
        candidates = list(
            product.items.exclude(status="live").order_by("rank_key").values_list("pk", flat=True)
        )
        stride = len(candidates) // finished
        pks = candidates[::stride][:finished]
        half = finished // 2

        client = Client()
        client.force_login(people["delivery_lead"])
        url = reverse("backlog:session_detail", args=[session.pk])
        page = partial(client.get, url)

        _finish(product, pks[:half], start=start, end=end, people=people, offset=0)
        assert page().status_code == 200
        _, queries_half = count_queries(page)

        _finish(product, pks[half:], start=start, end=end, people=people, offset=half)
        response = page()
        assert response.status_code == 200
        assert response.context["done_count"] == finished, response.context["done_count"]
        _, queries = count_queries(page)
        median = median_seconds(page, repeat=repeat, warmup=3)

        yield row(
            "show_and_tell_page_median",
            median * 1000,
            "ms",
            target_ms=TARGET_MS,
            moonshot_ms=MOONSHOT_MS,
            meets_target=median * 1000 <= TARGET_MS,
            meets_moonshot=median * 1000 <= MOONSHOT_MS,
            database=vendor,
            items=size,
            done=finished,
            awaiting_sign_off=response.context["go_live_waiting"],
        )
        yield row(
            "show_and_tell_page_queries",
            len(queries),
            "queries",
            queries_at_half_done=len(queries_half),
            meets_target=len(queries) == len(queries_half),  # constant in the done items
            database=vendor,
            items=size,
            done=finished,
        )
