"""Lock order (product, then item): estimate saves, item edits, go-live signatures and moves
running against each other and against a rescore never deadlock, and nothing is rolled back.

Each test runs two real PostgreSQL sessions in threads, many times over, on the same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connections

from backlog.models import ItemStatus
from backlog.services import item_move, item_update
from prioritisation.models import BenefitEstimate
from prioritisation.services import EstimateCell, estimates_save, scores_recompute
from prioritisation.services import scores as scores_module
from tests.conftest import require_postgresql
from tests.factories import BacklogItemFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*loops: Callable[[], None]) -> list[BaseException]:
    """Start each loop in its own thread and connection at the same moment; the errors."""
    barrier = threading.Barrier(len(loops))
    errors: list[BaseException] = []

    def run(loop) -> None:
        try:
            barrier.wait()
            loop()
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(loop,)) for loop in loops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_estimate_saves_during_a_background_rescore_never_deadlock(
    product, owner, cohorts, metrics, monkeypatch
):
    """The product is over the in-request limit, so saves queue a rescore while the worker's
    rescore (product lock, then a share lock on every item it scores) runs again and again.
    Before: the save's item lock joined and locked the product too, in the opposite order."""
    require_postgresql()
    monkeypatch.setattr(scores_module, "SYNC_RECOMPUTE_MAX_ITEMS", 50)
    items = [BacklogItemFactory(product=product) for _ in range(120)]
    saves_done = threading.Event()
    saved: list[int] = []

    def rescore() -> None:
        while not saves_done.is_set():
            scores_recompute(product_id=product.pk)

    def save() -> None:
        try:
            for n, item in enumerate(items[:20]):
                cell = EstimateCell(cohorts["Citizens"], metrics["Cash saved"], Decimal(n + 1))
                estimates_save(item=item, actor=owner, cells=[cell])
                saved.append(item.pk)
        finally:
            saves_done.set()

    assert run_together(rescore, save) == []
    assert len(saved) == 20
    assert BenefitEstimate.objects.filter(item__product=product).count() == 20


def test_item_edits_that_rescore_and_moves_of_the_same_item_never_deadlock(product, owner):
    """An edit of effort rescores in the request (product lock); a move locks the product and
    rewrites the item. Before: the edit locked the item first, then waited for the product."""
    require_postgresql()
    items = [BacklogItemFactory(product=product) for _ in range(30)]
    target = items[10]

    def edit() -> None:
        for n in range(15):
            item_update(
                item=target,
                actor=owner,
                title=target.title,
                description="",
                digitisation_level=target.digitisation_level,
                status=ItemStatus.READY,
                effort=Decimal(n % 5 + 1),
                cohorts=[],
            )

    def move() -> None:
        for n in range(15):
            item_move(item=target, actor=owner, to="top" if n % 2 else "bottom")

    assert run_together(edit, move) == []
    target.refresh_from_db()
    assert target.events.filter(kind="moved").count() == 15


def test_estimate_saves_and_moves_of_the_same_item_never_deadlock(product, owner, cohorts, metrics):
    require_postgresql()
    items = [BacklogItemFactory(product=product) for _ in range(30)]
    target = items[5]

    def save() -> None:
        for n in range(15):
            cell = EstimateCell(cohorts["Colleagues"], metrics["Cash saved"], Decimal(n + 1))
            estimates_save(item=target, actor=owner, cells=[cell])

    def move() -> None:
        for n in range(15):
            item_move(item=target, actor=owner, to="top" if n % 2 else "bottom")

    assert run_together(save, move) == []
    assert target.events.filter(kind="estimated").count() == 15
