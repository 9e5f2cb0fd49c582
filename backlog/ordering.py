"""Order keys for the manual backlog order: fractional indexing, no ORM.

Every item carries a string key; the backlog is the items sorted by key. Moving an item
means giving it a key between its new neighbours, so a move writes one row whatever the
backlog size. Keys use the digits "0-9A-Za-z" only, so Python's str order, bytewise order
and PostgreSQL's "C" collation all agree.

Keys are in the format of the `fractional-indexing` library (a port of rocicorp's): an
integer part whose head letter encodes its length ("a0".."az", "b00".."bzz", ...; "Zz" and
below for keys before "a0"), then an optional fraction with no trailing "0". Every key made
here, including the spread ones, is valid input for the library.

Inserting again and again into the same gap lengthens the key by one character every five
or six inserts. When a new key would be longer than `MAX_KEY_LENGTH`, the caller rebalances
the product: it puts the items in their intended order and gives them `spread_keys(n)`.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from collections.abc import Sequence

from fractional_indexing import FIError, generate_key_between, generate_n_keys_between

# 32 characters: spread keys are at most 6 characters up to ~14 million items, which leaves
# some 26 characters, about 150 inserts into one gap, before a product has to be rebalanced.
# Rebalancing rewrites every row of the product, so it should be rare; a longer key costs
# next to nothing in a btree index of mostly short keys. The column must hold at least this.
MAX_KEY_LENGTH = 32

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_KEY_RE = re.compile(r"[0-9A-Za-z]+")

# Spread keys are the integer "a0" followed by a fixed-width fraction, so they all fall
# between "a0" and "a1": appends after them start at "a1", prepends at "a0", and inserts
# between two of them bisect the fraction. A fraction must not end in "0", so the last
# digit takes 61 values ("1".."z") and the others 62.
_SPREAD_INTEGER = "a0"
_LAST_DIGIT_VALUES = _BASE - 1


def validate_key(key: str) -> None:
    """Raise ValueError unless `key` is a well-formed order key."""
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise ValueError(f"Order key must be a non-empty string of 0-9A-Za-z, got {key!r}.")
    try:
        # The library checks the length encoded in the head and the trailing "0" rule.
        generate_key_between(key, None)
    except FIError as error:
        raise ValueError(f"Invalid order key {key!r}: {error}.") from None


def key_between(before: str | None, after: str | None) -> str:
    """Return a key that sorts strictly between `before` and `after`.

    `None` means the start (for `before`) or the end (for `after`) of the backlog, so
    `key_between(None, None)` is the first key of an empty backlog. The result may be longer
    than `MAX_KEY_LENGTH`; check it with `needs_rebalance` before storing it.

    Raises ValueError for a malformed key or when `before >= after`.
    """
    for key in (before, after):
        if key is not None:
            validate_key(key)
    if before is not None and after is not None and before >= after:
        raise ValueError(f"The key before ({before!r}) must sort before the key after ({after!r}).")
    try:
        return generate_key_between(before, after)
    except FIError as error:
        # Only at the very ends of the key space ("A000..." or "zzz..."), some 62**25
        # prepends or appends away.
        raise ValueError(f"No key between {before!r} and {after!r}: {error}.") from None


def needs_rebalance(key: str) -> bool:
    """Whether `key` is too long to store, so the product's keys must be spread again."""
    return len(key) > MAX_KEY_LENGTH


def spread_keys(n: int) -> list[str]:
    """Return `n` sorted, distinct keys, evenly spaced and all of the same length.

    For rebalancing a product (give the items, in order, these keys) and for filling an
    empty backlog. Keys are "a0" plus the shortest fraction that fits `n`: 3 characters up
    to 60 items, 4 up to 3,781, 5 up to 234,483, 6 up to ~14.5 million.
    """
    if n < 0:
        raise ValueError(f"Cannot make a negative number of keys ({n}).")
    if n == 0:
        return []
    width = 1
    slots = _LAST_DIGIT_VALUES  # fractions of `width` digits that do not end in "0"
    while slots < n + 1:
        width += 1
        slots *= _BASE
    # Slot 0 would be the fraction "00..01"; spacing the keys by slots/(n + 1) leaves the
    # same room before the first key and after the last as between neighbours.
    head_width = width - 1
    keys = []
    for i in range(1, n + 1):
        head, last = divmod(i * slots // (n + 1), _LAST_DIGIT_VALUES)
        keys.append(_SPREAD_INTEGER + _encode(head, head_width) + DIGITS[last + 1])
    return keys


def _encode(value: int, width: int) -> str:
    """Encode `value` in base 62, left-padded with "0" to `width` digits."""
    digits = []
    for _ in range(width):
        value, digit = divmod(value, _BASE)
        digits.append(DIGITS[digit])
    return "".join(reversed(digits))


def keys_for_append(last_key: str | None, n: int) -> list[str]:
    """Return `n` sorted keys for new items after `last_key` (the current last item).

    After an existing item the keys count up the integer part ("a1", "a2", ...), which stays
    short: 5 characters covers over 14 million appends. An empty backlog gets `spread_keys`.
    """
    return _keys_at_end(before=last_key, after=None, n=n)


def keys_for_prepend(first_key: str | None, n: int) -> list[str]:
    """Return `n` sorted keys for new items before `first_key` (the current first item).

    The keys count down the integer part ("a0", "Zz", "Zy", ...) and end just before
    `first_key`, so the new items keep the order of the returned list.
    """
    return _keys_at_end(before=None, after=first_key, n=n)


def _keys_at_end(*, before: str | None, after: str | None, n: int) -> list[str]:
    if n < 0:
        raise ValueError(f"Cannot make a negative number of keys ({n}).")
    if before is None and after is None:
        return spread_keys(n)
    for key in (before, after):
        if key is not None:
            validate_key(key)
    try:
        return generate_n_keys_between(before, after, n)
    except FIError as error:
        raise ValueError(f"No room for {n} keys there: {error}.") from None


def key_for_move(*, moving_key: str | None, before_key: str | None, after_key: str | None) -> str:
    """Return the new key for an item dropped between `before_key` and `after_key`.

    `before_key` and `after_key` must be adjacent in the product as it is now, leaving the
    moving item out: read them inside the locking transaction, because a client's view may
    be stale and another item may have landed in that gap since. `moving_key` is the item's
    current key, or None for a new item. An item that already sits in that gap, or is
    dropped next to itself, keeps its key, so the caller can skip the write.
    """
    if moving_key is not None:
        validate_key(moving_key)
        after_start = before_key is None or before_key <= moving_key
        before_end = after_key is None or moving_key <= after_key
        if after_start and before_end:
            return moving_key
    return key_between(before_key, after_key)


def key_for_position(keys: Sequence[str], *, target_index: int, moving_index: int | None) -> str:
    """Return the key that puts an item at `target_index` of the sorted `keys`.

    `keys` are the product's keys in order. `moving_index` is the index in `keys` of the
    item being moved, or None for a new item. `target_index` is the item's index in the
    list after the move: 0 is the top, `len(keys) - 1` the bottom for a moved item and
    `len(keys)` for a new one. Moving an item to where it already is returns its own key,
    so the caller can skip the write.

    Only the neighbours at the target are read, so this is O(1) for any list. Raises
    ValueError for an index out of range or neighbours out of order.
    """
    size = len(keys) if moving_index is None else len(keys) - 1  # the list without the item
    if moving_index is not None and not 0 <= moving_index < len(keys):
        raise ValueError(f"moving_index {moving_index} is outside 0..{len(keys) - 1}.")
    if not 0 <= target_index <= size:
        raise ValueError(f"target_index {target_index} is outside 0..{size}.")
    if moving_index is not None and target_index == moving_index:
        return keys[moving_index]

    def without_item(index: int) -> str | None:
        """The key at `index` of `keys` with the moving item taken out, None past an end."""
        if not 0 <= index < size:
            return None
        if moving_index is not None and index >= moving_index:
            index += 1
        return keys[index]

    return key_between(without_item(target_index - 1), without_item(target_index))


def keys_for_order(keys: Sequence[str]) -> list[str]:
    """New keys for a reorder that rewrites as few items as possible.

    ``keys`` are the items' current keys listed in the order they should take. The result
    has one key per item, strictly increasing: the longest run of items that are already in
    order among themselves keep their keys, and only the others get new keys, in the gaps
    between the kept ones. So adopting ``k`` items at the top of a 100,000-item backlog
    changes ``k`` keys, not 100,000, and applying a new order changes only the items whose
    order relative to the rest changed. When a new key would grow past ``MAX_KEY_LENGTH``
    the whole list gets ``spread_keys`` (a rebalance: every key changes, once).

    The keys are the stored ones, so they are not validated one by one (the library's check
    costs more than the rest of the work for 100,000 keys).
    """
    kept = _longest_increasing(keys)
    new = list(keys)
    run_start = 0
    for index in [*kept, len(keys)]:
        if index > run_start:
            lower = keys[run_start - 1] if run_start > 0 else None
            upper = keys[index] if index < len(keys) else None
            new[run_start:index] = _keys_in_gap(lower, upper, index - run_start)
        run_start = index + 1
    if new and needs_rebalance(max(new, key=len)):
        return spread_keys(len(keys))
    return new


def _longest_increasing(keys: Sequence[str]) -> list[int]:
    """Indexes of a longest strictly increasing subsequence of ``keys`` (patience sorting,
    O(n log n)): the items that can keep their keys."""
    tails: list[str] = []  # the smallest last key of an increasing run of each length
    tail_index: list[int] = []
    previous = [-1] * len(keys)
    for i, key in enumerate(keys):
        at = bisect_left(tails, key)
        if at == len(tails):
            tails.append(key)
            tail_index.append(i)
        else:
            tails[at] = key
            tail_index[at] = i
        previous[i] = tail_index[at - 1] if at else -1
    run = []
    i = tail_index[-1] if tail_index else -1
    while i != -1:
        run.append(i)
        i = previous[i]
    return run[::-1]


def _keys_in_gap(lower: str | None, upper: str | None, n: int) -> list[str]:
    """``n`` sorted keys strictly between ``lower`` and ``upper`` (None: an end).

    One key ``mid`` between the two, then ``mid`` followed by the fractions of
    ``spread_keys(n)``: every string that starts with ``mid`` sorts after it and, unless
    ``upper`` itself starts with ``mid``, before ``upper`` (then a ``mid`` nearer ``lower``
    is tried). One library call per gap, where ``generate_n_keys_between`` took a second
    for 100,000 keys."""
    mid = key_between(lower, upper)
    for _ in range(8):
        if upper is None or not upper.startswith(mid):
            return [mid + fraction for fraction in _spread_fractions(n)]
        mid = key_between(lower, mid)
    return _keys_at_end(before=lower, after=upper, n=n)


@functools.lru_cache(maxsize=64)
def _spread_fractions(n: int) -> tuple[str, ...]:
    """The fraction digits of ``spread_keys(n)``, which sort like the keys."""
    return tuple(key[len(_SPREAD_INTEGER) :] for key in spread_keys(n))
