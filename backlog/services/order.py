"""The manual order: moves, pins, applying the score order, and undoing a bulk reorder.

Every write here runs under the product row lock, so moves in one product take turns
(each is a few milliseconds) while products never wait on each other. A move rewrites one
row; only when its new key would grow past ``ordering.MAX_KEY_LENGTH`` is the whole
product rebalanced, in two bulk statements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pgtrigger
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from backlog import ordering
from backlog.locks import lock_product
from backlog.models import (
    OPEN_STATUSES,
    BacklogItem,
    ItemEvent,
    ItemEventKind,
    ItemStatus,
    NewItemPosition,
    OrderSnapshot,
    Product,
    ReorderKind,
)
from customers.history import record_event, update_trigger


class MoveRefused(Exception):
    """A move that cannot be applied as asked; the message is for the person.

    ``stale`` when the person's view of the list was out of date (not their mistake: the
    refreshed list is the answer); otherwise the request itself could not be made."""

    def __init__(self, message: str, *, stale: bool = False) -> None:
        super().__init__(message)
        self.stale = stale


class MoveTo:
    UP = "up"
    DOWN = "down"
    TOP = "top"
    BOTTOM = "bottom"
    POSITION = "position"
    BETWEEN = "between"
    CHOICES = (UP, DOWN, TOP, BOTTOM, POSITION, BETWEEN)


@dataclass(frozen=True)
class MoveResult:
    item: BacklogItem
    moved: bool  # False when the item was already there
    rebalanced: bool
    position: int | None = None  # 1-based manual rank among open items, where cheap to know
    at_end: str | None = None  # "top" or "bottom" when the item went to (or was at) an end


STALE = (
    "The backlog changed while you were looking at it, so this move was not made. "
    "The list below is up to date: please try again."
)


def _lock_product(product_id: int) -> None:
    lock_product(product_id)


@dataclass(frozen=True)
class _Place:
    """Where a move puts the item: between the keys ``lower`` and ``upper`` (None meaning
    an end), unless ``already`` there."""

    lower: str | None
    upper: str | None
    already: bool = False
    position: int | None = None
    at_end: str | None = None


def _first_key(items) -> str | None:
    return items.values_list("rank_key", flat=True).first()


def _before(others, upper: str | None, **marks) -> _Place:
    """Right before the key ``upper`` (after whatever closed items precede it)."""
    if upper is None:
        return _Place(_first_key(others.order_by("-rank_key")), None, **marks)
    lower = _first_key(others.filter(rank_key__lt=upper).order_by("-rank_key"))
    return _Place(lower, upper, **marks)


def _after(others, lower: str, **marks) -> _Place:
    """Right after the key ``lower``."""
    return _Place(
        lower, _first_key(others.filter(rank_key__gt=lower).order_by("rank_key")), **marks
    )


def _to_rank(others, open_others, *, key: str, position: int) -> _Place:
    """Manual rank ``position`` among the open items: right before the open item that holds
    it now, or after the last open item when the position is past the end."""
    if position == 1:
        first = _first_key(open_others.order_by("rank_key"))
        if first is None or key < first:
            return _Place(None, None, already=True, position=1, at_end="top")
        return _before(others, first, position=1, at_end="top")
    # The open items now at ranks position - 1 and position (the item itself left out),
    # walked to from the nearer end of the partial index of open items: a count and a
    # short index-only walk, where an OFFSET from the top read n − 5 rows for "n − 5".
    count = open_others.count()
    if position > count:
        # Past the last open item: the bottom, and the rank that is.
        last = _first_key(open_others.order_by("-rank_key"))
        if last is None or key > last:
            return _Place(None, None, already=True, position=count + 1, at_end="bottom")
        return _after(others, last, position=count + 1, at_end="bottom")
    keys = open_others.values_list("rank_key", flat=True)
    if position - 1 <= count - position:
        pair = list(keys.order_by("rank_key")[position - 2 : position])
    else:
        pair = list(keys.order_by("-rank_key")[count - position : count - position + 2])[::-1]
    if pair[0] < key < pair[1]:
        return _Place(None, None, already=True, position=position)
    return _before(others, pair[1], position=position)


def _place(
    items, *, item: BacklogItem, key: str, to: str, position: int | None, before_id, after_id
) -> _Place:
    """Where the item goes. Ranks, up, down, top and bottom count open items only (closed
    ones have no rank: stepping past one would change nothing the person can see)."""
    others = items.exclude(pk=item.pk)
    open_others = others.filter(status__in=OPEN_STATUSES)
    if to == MoveTo.TOP:
        return _to_rank(others, open_others, key=key, position=1)
    if to == MoveTo.BOTTOM:
        last = _first_key(open_others.order_by("-rank_key"))
        if last is None or key > last:
            return _Place(None, None, already=True, at_end="bottom")
        return _after(others, last, at_end="bottom")
    if to == MoveTo.UP:
        above = _first_key(open_others.filter(rank_key__lt=key).order_by("-rank_key"))
        if above is None:
            return _Place(None, None, already=True, position=1, at_end="top")
        return _before(others, above)
    if to == MoveTo.DOWN:
        below = _first_key(open_others.filter(rank_key__gt=key).order_by("rank_key"))
        if below is None:
            return _Place(None, None, already=True, at_end="bottom")
        return _after(others, below)
    if to == MoveTo.POSITION:
        if position is None or position < 1:
            raise MoveRefused("Give a position of 1 or more: nothing was moved.")
        return _to_rank(others, open_others, key=key, position=position)
    # BETWEEN: the neighbours the person saw, by id. They must still exist in this product
    # and still be in that order; anything else is a stale view.
    if before_id is None and after_id is None:
        raise MoveRefused("Say which items the moved item goes between.")
    if item.pk in (before_id, after_id):
        raise MoveRefused("An item cannot be placed next to itself.")
    named = dict(
        others.filter(pk__in=[i for i in (before_id, after_id) if i is not None]).values_list(
            "pk", "rank_key"
        )
    )
    lower = named.get(before_id) if before_id is not None else None
    upper = named.get(after_id) if after_id is not None else None
    if (before_id is not None and lower is None) or (after_id is not None and upper is None):
        raise MoveRefused(STALE, stale=True)
    if lower is not None and upper is not None and lower >= upper:
        raise MoveRefused(STALE, stale=True)
    # Items added between the two since the page loaded stay above the moved item: the
    # move is applied relative to the neighbour it was dropped after.
    place = _after(others, lower) if lower is not None else _before(others, upper)
    # lower and upper are neighbours among the other items, so an item already between
    # them is already in place: nothing to write.
    already = (place.lower is None or place.lower < key) and (
        place.upper is None or key < place.upper
    )
    return _Place(place.lower, place.upper, already=already)


def _closed_message(item: BacklogItem, status: str) -> str:
    return (
        f"“{item.title}” is {ItemStatus(status).label.lower()}: only open items (idea, ready, "
        "in progress) have a place in the manual order, so it was not moved."
    )


def item_move(
    *,
    item: BacklogItem,
    actor: AbstractBaseUser | None,
    to: str,
    position: int | None = None,
    before_id: int | None = None,
    after_id: int | None = None,
) -> MoveResult:
    """Move one open item in its product's manual order.

    ``to`` is up, down, top, bottom, position (1-based manual rank among open items) or
    between (the ids of the items it should follow and precede, as the person saw them).
    Writes one item row and one history row, or rebalances the product when the key space
    is exhausted there. Raises ``MoveRefused`` with a message for the person when the item
    is closed (done, live, rejected), the request makes no sense, or the view was stale.
    """
    if to not in MoveTo.CHOICES:
        raise MoveRefused(f"Unknown move “{to}”.")
    with transaction.atomic():
        _lock_product(item.product_id)
        items = BacklogItem.objects.filter(product_id=item.product_id)
        current = items.filter(pk=item.pk).values_list("rank_key", "status").first()
        if current is None:
            raise MoveRefused("This item is no longer in the backlog.", stale=True)
        key, status = current
        if status not in OPEN_STATUSES:
            raise MoveRefused(_closed_message(item, status))
        place = _place(
            items,
            item=item,
            key=key,
            to=to,
            position=position,
            before_id=before_id,
            after_id=after_id,
        )
        if place.already:
            item.rank_key = key
            return MoveResult(
                item=item,
                moved=False,
                rebalanced=False,
                position=place.position,
                at_end=place.at_end,
            )
        new_key = ordering.key_between(place.lower, place.upper)
        rebalanced = ordering.needs_rebalance(new_key)
        if rebalanced:
            new_key = _rebalance_with(item.product_id, item_id=item.pk, after_key=place.lower)
            # The rebalance rewrote every key unrecorded: the move is this item's one event.
            record_event(BacklogItem.objects.get(pk=item.pk))
        else:
            items.filter(pk=item.pk).update(rank_key=new_key, updated_at=timezone.now())
        ItemEvent.objects.create(
            item=item,
            actor=actor,
            kind=ItemEventKind.MOVED,
            data={"to": to, "position": place.position, "rebalanced": rebalanced},
        )
    item.rank_key = new_key
    return MoveResult(
        item=item,
        moved=True,
        rebalanced=rebalanced,
        position=place.position,
        at_end=place.at_end,
    )


def _rebalance_with(product_id: int, *, item_id: int, after_key: str | None) -> str:
    """Give every item of the product fresh, short keys, with ``item_id`` placed right after
    the item whose key is ``after_key`` (first when None). Returns the item's new key."""
    rows = list(
        BacklogItem.objects.filter(product_id=product_id)
        .exclude(pk=item_id)
        .order_by("rank_key")
        .values_list("pk", "rank_key")
    )
    at = 0 if after_key is None else next(i for i, (_, k) in enumerate(rows) if k == after_key) + 1
    ids = [pk for pk, _ in rows]
    ids.insert(at, item_id)
    keys = ordering.spread_keys(len(ids))
    _write_keys(product_id, list(zip(ids, keys, strict=True)))
    return keys[at]


def _write_keys(product_id: int, changes: Sequence[tuple[int, str]]) -> None:
    """Write the new key of each ``(item id, key)``, each row once, in one statement.

    Unique (product, rank_key) is deferrable, checked when the statement ends: items can
    swap keys within it, where a check row by row would collide halfway.

    The item history's trigger is skipped: a bulk rewrite of keys is recorded once by the
    caller (a bulk reorder's snapshot, or the moved item's event), never as a row per item.
    """
    if not changes:
        return
    table = BacklogItem._meta.db_table
    ids, keys = [pk for pk, _ in changes], [key for _, key in changes]
    with pgtrigger.ignore(update_trigger(BacklogItem)), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS i SET rank_key = v.key "
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, key) "
                "WHERE i.id = v.id AND i.product_id = %s",
                [ids, keys, product_id],
            )
            return
        # SQLite's unique index (migration 0008) is checked row by row: park the rows on
        # prefixed keys first.
        cursor.executemany(
            f"UPDATE {table} SET rank_key = %s WHERE id = %s AND product_id = %s",
            [("~" + key, pk, product_id) for pk, key in changes],
        )
        cursor.executemany(
            f"UPDATE {table} SET rank_key = %s WHERE id = %s AND product_id = %s",
            [(key, pk, product_id) for pk, key in changes],
        )


# What a bulk reorder is computed from: every item of the product in manual order, with
# what decides its new place. Read with no lock, then read again under the product lock:
# if anything differs the work is done again there, so the lock is normally held only to
# compare and write.
_ORDER_COLUMNS = ("pk", "rank_key", "pinned", "status", "score__rank")

Rows = list[tuple[int, str, bool, str, int | None]]


def _order_rows(product_id: int) -> Rows:
    return list(
        BacklogItem.objects.filter(product_id=product_id)
        .order_by("rank_key")
        .values_list(*_ORDER_COLUMNS)
    )


def _changes_for(rows: Rows, new_order: Sequence[int]) -> list[tuple[int, str]]:
    """The ``(item id, new key)`` of only the items whose key must change for
    ``new_order`` (every item id): the rest keep theirs (``ordering.keys_for_order``)."""
    key_of = {row[0]: row[1] for row in rows}
    old = [key_of[pk] for pk in new_order]
    new = ordering.keys_for_order(old)
    return [(pk, key) for pk, key, was in zip(new_order, new, old, strict=True) if key != was]


def _bulk_reorder(
    product: Product,
    actor,
    *,
    kind: str,
    note: str = "",
    plan: Callable[[Rows], list[tuple[int, str]]],
    on_locked: Callable[[], None] | None = None,
) -> OrderSnapshot:
    """Save the current order as a snapshot and write the keys ``plan(rows)`` returns.

    ``plan`` runs, and the snapshot is saved, before the product lock is taken (reading and
    computing 100,000 rows takes a few hundred milliseconds a move should not wait for);
    under the lock the database checks the rows are unchanged (a digest of them, computed
    there) and the changed keys are written. If they changed (someone moved an item
    meanwhile), the rows are read and ``plan`` runs again under the lock.
    ``on_locked`` runs once the lock is held, before anything is written (a caller's own
    checks, taking its locks after the product's)."""
    with transaction.atomic():
        rows = _order_rows(product.pk)
        changes = plan(rows)
        snapshot = OrderSnapshot.objects.create(
            product=product, actor=actor, kind=kind, note=note, keys=_snapshot_keys(rows)
        )
        _lock_product(product.pk)
        if on_locked is not None:
            on_locked()
        if _fingerprint_now(product.pk) != _fingerprint(rows):
            rows = _order_rows(product.pk)
            changes = plan(rows)
            snapshot.keys = _snapshot_keys(rows)
            snapshot.save(update_fields=["keys"])
        _write_keys(product.pk, changes)
        return snapshot


def _snapshot_keys(rows: Rows) -> list[list]:
    return [[pk, key] for pk, key, *_ in rows]


def _fingerprint(rows: Rows) -> tuple[int, str]:
    """The rows' count and a digest of them, as ``_fingerprint_now`` computes it in SQL."""
    text = ",".join(
        f"{pk} {key} {'true' if pinned else 'false'} {status} {'-' if rank is None else rank}"
        for pk, key, pinned, status, rank in rows
    )
    return len(rows), hashlib.md5(text.encode()).hexdigest() if rows else ""


def _fingerprint_now(product_id: int) -> tuple[int, str]:
    """``_fingerprint`` of the product's rows as they are now, computed in the database: a
    100,000-row check under the lock without sending the rows to Python. SQLite (the
    embedded default, with small backlogs) has no md5 or casts: the rows are read instead."""
    if connection.vendor != "postgresql":
        return _fingerprint(_order_rows(product_id))
    items = BacklogItem._meta.db_table
    scores = BacklogItem.score.related.related_model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(md5(string_agg(i.id::text || ' ' || i.rank_key || ' ' "
            "|| i.pinned::text || ' ' || i.status || ' ' || coalesce(s.rank::text, '-'), ',' "
            f"ORDER BY i.rank_key)), '') FROM {items} AS i "
            f"LEFT JOIN {scores} AS s ON s.item_id = i.id WHERE i.product_id = %s",
            [product_id],
        )
        count, digest = cursor.fetchone()
    return count, digest


def order_apply_scores(
    *, product: Product, actor: AbstractBaseUser | None, on_locked: Callable[[], None] | None = None
) -> OrderSnapshot:
    """Reorder every unpinned item by score rank in one step; pinned items keep their place.

    Items with no score rank (closed or not yet scored) follow the ranked ones in their
    current manual order. Writes only the items whose order among the rest changes, each
    once. Undo with ``order_undo``.
    """

    def plan(rows: Rows) -> list[tuple[int, str]]:
        unpinned = sorted(
            (rank is None, rank or 0, i, pk)
            for i, (pk, _key, pinned, _status, rank) in enumerate(rows)
            if not pinned
        )
        fill = iter(pk for *_, pk in unpinned)
        new_order = [pk if pinned else next(fill) for pk, _key, pinned, *_ in rows]
        return _changes_for(rows, new_order)

    return _bulk_reorder(
        product, actor, kind=ReorderKind.SCORE_ORDER, plan=plan, on_locked=on_locked
    )


def order_adopt(
    *,
    product: Product,
    actor: AbstractBaseUser | None,
    ranked_ids: Sequence[int],
    kind: str,
    note: str,
    on_locked: Callable[[], None] | None = None,
) -> OrderSnapshot:
    """Put ``ranked_ids`` (items of this product, best first) at the top in that order;
    pinned items keep their place and every other item follows in its current order.

    Only the adopted items (and any that must pass a pinned one) get new keys: adopting
    20 items of 100,000 writes about 20 rows. ``on_locked`` runs under the product lock,
    before the write (``round_adopt`` checks its round there)."""

    def plan(rows: Rows) -> list[tuple[int, str]]:
        pinned = {pk for pk, _key, is_pinned, *_ in rows if is_pinned}
        present = {row[0] for row in rows}
        wanted = [pk for pk in dict.fromkeys(ranked_ids) if pk in present and pk not in pinned]
        chosen = set(wanted)
        rest = [pk for pk, _key, is_pinned, *_ in rows if not is_pinned and pk not in chosen]
        fill = iter(wanted + rest)
        new_order = [pk if pk in pinned else next(fill) for pk, *_ in rows]
        return _changes_for(rows, new_order)

    return _bulk_reorder(product, actor, kind=kind, note=note, plan=plan, on_locked=on_locked)


def _latest_undoable(product: Product, *, lock: bool = False) -> OrderSnapshot | None:
    snapshots = OrderSnapshot.objects.filter(product=product, undone_at__isnull=True).exclude(
        kind=ReorderKind.UNDO
    )
    if lock:
        snapshots = snapshots.select_for_update(of=("self",))
    return snapshots.first()


def order_undo(*, product: Product, actor: AbstractBaseUser | None) -> OrderSnapshot | None:
    """Restore the order from before the latest bulk reorder that is not yet undone.

    The items in the snapshot get back exactly the keys they had then (only those whose key
    differs now are written). Items added since go to the top or bottom (the product's
    setting for new items), in their current order. Returns the snapshot undone, or None
    when there is none.
    """
    snapshot = _latest_undoable(product)
    if snapshot is None:
        return None
    top = product.new_items_position == NewItemPosition.TOP

    def plan(rows: Rows) -> list[tuple[int, str]]:
        return _changes_for_undo(rows, dict(snapshot.keys), top=top)

    def still_latest() -> None:
        if _latest_undoable(product, lock=True) != snapshot:
            raise _UndoRaced

    try:
        _bulk_reorder(product, actor, kind=ReorderKind.UNDO, plan=plan, on_locked=still_latest)
    except _UndoRaced:
        # Someone undid it (or reordered again) meanwhile: undo what is latest now.
        return order_undo(product=product, actor=actor)
    OrderSnapshot.objects.filter(pk=snapshot.pk).update(undone_at=timezone.now())
    snapshot.undone_at = timezone.now()
    return snapshot


class _UndoRaced(Exception):
    pass


def _changes_for_undo(rows: Rows, saved: dict[int, str], *, top: bool) -> list[tuple[int, str]]:
    """The keys that put back a snapshot: its items get their saved keys; items added since
    keep theirs if they already sort beyond the restored ones, else get new keys there."""
    target = {pk: saved[pk] for pk, *_ in rows if pk in saved}
    newer = [(pk, key) for pk, key, *_ in rows if pk not in saved]
    if newer and target:
        restored = sorted(target.values())
        if top:
            bound = restored[0]
            if newer[-1][1] >= bound:
                keys = ordering.keys_for_prepend(bound, len(newer))
                target.update(zip([pk for pk, _ in newer], keys, strict=True))
        else:
            bound = restored[-1]
            if newer[0][1] <= bound:
                keys = ordering.keys_for_append(bound, len(newer))
                target.update(zip([pk for pk, _ in newer], keys, strict=True))
    return [(pk, target[pk]) for pk, key, *_ in rows if pk in target and target[pk] != key]


def item_pin(*, item: BacklogItem, actor: AbstractBaseUser | None, pinned: bool) -> BacklogItem:
    with transaction.atomic():
        BacklogItem.objects.filter(pk=item.pk).update(pinned=pinned, updated_at=timezone.now())
        ItemEvent.objects.create(
            item=item, actor=actor, kind=ItemEventKind.PINNED, data={"pinned": pinned}
        )
    item.pinned = pinned
    return item
