"""Order keys: pure tests, no database.

The reference for every ordering test is a plain Python list of item ids; the keys must sort
the items into exactly that list, bytewise as PostgreSQL's "C" collation does.
"""

import random
import string
import time
from itertools import pairwise

import pytest
from fractional_indexing import generate_key_between
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from backlog import ordering
from backlog.ordering import (
    MAX_KEY_LENGTH,
    key_between,
    key_for_move,
    key_for_position,
    keys_for_append,
    keys_for_prepend,
    needs_rebalance,
    spread_keys,
    validate_key,
)

ALPHABET = set(string.digits + string.ascii_uppercase + string.ascii_lowercase)


def assert_keys_order(keys: list[str]) -> None:
    """Keys in list order are valid, distinct and strictly increasing as str and as bytes."""
    assert all(set(key) <= ALPHABET for key in keys)
    for key in keys:
        validate_key(key)
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys)
    assert keys == sorted(keys, key=str.encode)


class Backlog:
    """A reference list of item ids with their keys, rebalanced the way the service does it."""

    def __init__(self, size: int) -> None:
        self.order = list(range(size))
        self.keys = dict(zip(self.order, spread_keys(size), strict=True))
        self.next_id = size
        self.rebalances = 0

    def sorted_keys(self) -> list[str]:
        return [self.keys[item] for item in self.order]

    def move(self, moving_index: int, target_index: int) -> str:
        key = key_for_position(
            self.sorted_keys(), moving_index=moving_index, target_index=target_index
        )
        item = self.order.pop(moving_index)
        self.order.insert(target_index, item)
        self.store(item, key)
        return key

    def insert(self, target_index: int) -> str:
        key = key_for_position(self.sorted_keys(), moving_index=None, target_index=target_index)
        item = self.next_id
        self.next_id += 1
        self.order.insert(target_index, item)
        self.store(item, key)
        return key

    def store(self, item: int, key: str) -> None:
        if needs_rebalance(key):
            # The service's path: the intended order is known, so one bulk write of fresh keys.
            self.keys = dict(zip(self.order, spread_keys(len(self.order)), strict=True))
            self.rebalances += 1
        else:
            self.keys[item] = key

    def items_by_key(self) -> list[int]:
        return sorted(self.order, key=lambda item: self.keys[item].encode())


# --- random moves against a reference list ---------------------------------------------------


class BacklogMachine(RuleBasedStateMachine):
    @initialize(size=st.integers(min_value=0, max_value=40))
    def start(self, size: int) -> None:
        self.backlog = Backlog(size)

    @precondition(lambda self: self.backlog.order)
    @rule(data=st.data())
    def move_to_random_position(self, data: st.DataObject) -> None:
        last = len(self.backlog.order) - 1
        moving = data.draw(st.integers(0, last), label="moving")
        target = data.draw(st.integers(0, last), label="target")
        self.backlog.move(moving, target)

    @precondition(lambda self: self.backlog.order)
    @rule(data=st.data())
    def drop_between_neighbours(self, data: st.DataObject) -> None:
        """The drag-and-drop path: the service reads the keys either side of the drop."""
        last = len(self.backlog.order) - 1
        moving = data.draw(st.integers(0, last), label="moving")
        target = data.draw(st.integers(0, last), label="target")
        item = self.backlog.order.pop(moving)
        others = [self.backlog.keys[other] for other in self.backlog.order]
        key = key_for_move(
            moving_key=self.backlog.keys[item],
            before_key=others[target - 1] if target > 0 else None,
            after_key=others[target] if target < len(others) else None,
        )
        self.backlog.order.insert(target, item)
        self.backlog.store(item, key)

    @precondition(lambda self: self.backlog.order)
    @rule(data=st.data())
    def move_to_top(self, data: st.DataObject) -> None:
        moving = data.draw(st.integers(0, len(self.backlog.order) - 1), label="moving")
        self.backlog.move(moving, 0)

    @precondition(lambda self: self.backlog.order)
    @rule(data=st.data())
    def move_to_bottom(self, data: st.DataObject) -> None:
        last = len(self.backlog.order) - 1
        moving = data.draw(st.integers(0, last), label="moving")
        self.backlog.move(moving, last)

    @rule(data=st.data())
    def insert_new(self, data: st.DataObject) -> None:
        target = data.draw(st.integers(0, len(self.backlog.order)), label="target")
        self.backlog.insert(target)

    @precondition(lambda self: len(self.backlog.order) >= 2)
    @rule(data=st.data())
    def hammer_one_gap(self, data: st.DataObject) -> None:
        """Many inserts just below the top item: the worst case for key length."""
        for _ in range(data.draw(st.integers(1, 60), label="inserts")):
            self.backlog.insert(1)

    @rule(n=st.integers(0, 5))
    def append_many(self, n: int) -> None:
        last = self.backlog.sorted_keys()[-1] if self.backlog.order else None
        for key in keys_for_append(last, n):
            self.backlog.order.append(self.backlog.next_id)
            self.backlog.keys[self.backlog.next_id] = key
            self.backlog.next_id += 1

    @rule(n=st.integers(0, 5))
    def prepend_many(self, n: int) -> None:
        first = self.backlog.sorted_keys()[0] if self.backlog.order else None
        new_items = list(range(self.backlog.next_id, self.backlog.next_id + n))
        self.backlog.next_id += n
        self.backlog.order[:0] = new_items
        self.backlog.keys.update(zip(new_items, keys_for_prepend(first, n), strict=True))

    @invariant()
    def keys_sort_items_into_the_reference_order(self) -> None:
        assert self.backlog.items_by_key() == self.backlog.order
        assert_keys_order(self.backlog.sorted_keys())
        assert all(len(key) <= MAX_KEY_LENGTH for key in self.backlog.keys.values())


BacklogMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=50, deadline=None)
test_random_moves_keep_the_reference_order = BacklogMachine.TestCase


def test_five_thousand_seeded_random_moves_keep_the_reference_order_with_one_write_each() -> None:
    rng = random.Random(20240611)
    backlog = Backlog(300)
    for step in range(5_000):
        size = len(backlog.order)
        before = dict(backlog.keys)
        rebalances = backlog.rebalances
        action = rng.random()
        if action < 0.6:
            backlog.move(rng.randrange(size), rng.randrange(size))
        elif action < 0.7:
            backlog.move(rng.randrange(size), 0)
        elif action < 0.8:
            backlog.move(rng.randrange(size), size - 1)
        else:
            backlog.insert(rng.randrange(size + 1))
        if backlog.rebalances == rebalances:
            changed = [item for item in before if before[item] != backlog.keys[item]]
            assert len(changed) <= 1
        if step % 100 == 0:
            assert backlog.items_by_key() == backlog.order
    assert backlog.items_by_key() == backlog.order
    assert_keys_order(backlog.sorted_keys())


def test_moving_an_item_to_where_it_is_returns_its_own_key() -> None:
    keys = spread_keys(5)

    assert key_for_position(keys, moving_index=2, target_index=2) == keys[2]
    assert key_for_move(moving_key=keys[2], before_key=keys[1], after_key=keys[3]) == keys[2]
    assert key_for_move(moving_key=keys[2], before_key=keys[2], after_key=keys[3]) == keys[2]


def test_key_for_position_skips_the_moving_item_when_picking_neighbours() -> None:
    keys = spread_keys(5)

    down = key_for_position(keys, moving_index=1, target_index=3)
    up = key_for_position(keys, moving_index=3, target_index=1)
    new_at_end = key_for_position(keys, moving_index=None, target_index=5)

    assert keys[3] < down < keys[4]
    assert keys[0] < up < keys[1]
    assert new_at_end > keys[4]
    assert key_for_position([], moving_index=None, target_index=0) == key_between(None, None)


def test_key_for_move_puts_an_item_between_the_given_neighbours() -> None:
    keys = spread_keys(5)

    moved = key_for_move(moving_key=keys[0], before_key=keys[3], after_key=keys[4])
    new = key_for_move(moving_key=None, before_key=None, after_key=keys[0])

    assert keys[3] < moved < keys[4]
    assert new < keys[0]


# --- key length -------------------------------------------------------------------------------


def test_key_length_grows_one_character_per_five_or_six_inserts_into_one_gap() -> None:
    keys = spread_keys(100)
    lengths = []
    for _ in range(1_000):
        key = key_for_position(keys, moving_index=None, target_index=1)
        keys.insert(1, key)
        lengths.append(len(key))

    assert_keys_order(keys)
    # log2(62) is about 5.95: each insert halves the gap, each character splits it 62 ways.
    assert lengths[0] == 3
    assert 1_000 / 7 < lengths[-1] < 1_000 / 5
    inserts_until_too_long = next(i for i, length in enumerate(lengths, 1) if length > 32)
    assert 150 <= inserts_until_too_long <= 180
    assert needs_rebalance(keys[1])


def test_rebalancing_after_a_too_long_key_preserves_the_order_and_shortens_the_keys() -> None:
    backlog = Backlog(100)
    for _ in range(1_000):
        backlog.insert(1)

    assert 5 <= backlog.rebalances <= 7
    assert backlog.items_by_key() == backlog.order
    assert max(len(key) for key in backlog.keys.values()) <= MAX_KEY_LENGTH

    spread = spread_keys(len(backlog.order))
    assert {len(key) for key in spread} == {4}
    assert_keys_order(spread)


def test_appends_and_prepends_count_the_integer_part_so_keys_stay_short() -> None:
    keys = spread_keys(10)
    for _ in range(5_000):
        keys.append(key_between(keys[-1], None))
        keys.insert(0, key_between(None, keys[0]))

    assert_keys_order(keys)
    assert max(len(key) for key in keys) <= 4


# --- spread keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "length"),
    [(1, 3), (2, 3), (60, 3), (61, 4), (3_781, 4), (3_782, 5), (100_000, 5)],
)
def test_spread_keys_are_ordered_valid_and_of_one_short_length(n: int, length: int) -> None:
    keys = spread_keys(n)

    assert len(keys) == n
    assert {len(key) for key in keys} == {length}
    assert_keys_order(keys)


def test_the_library_can_insert_between_every_pair_of_spread_keys_and_at_both_ends() -> None:
    keys = spread_keys(20_000)

    for before, after in zip([None, *keys], [*keys, None], strict=True):
        key = key_between(before, after)
        assert (before is None or before < key) and (after is None or key < after)
        assert len(key) <= len(keys[0]) + 1


def base62_fraction(key: str) -> int:
    """The fraction after the integer "a0", read as a base-62 number."""
    assert key.startswith("a0")
    value = 0
    for char in key[2:]:
        value = value * 62 + ordering.DIGITS.index(char)
    return value


def test_spread_keys_are_evenly_spaced() -> None:
    keys = spread_keys(1_000)

    values = [base62_fraction(key) for key in keys]
    gaps = [b - a for a, b in pairwise(values)]

    # Neighbours are about 62**3 / 1,001 apart: rounding and the skipped trailing "0" make
    # some gaps a little wider, by at most 2.
    assert max(gaps) - min(gaps) <= 2


def test_spread_keys_for_a_hundred_thousand_items_takes_well_under_a_second() -> None:
    started = time.perf_counter()
    spread_keys(100_000)
    assert time.perf_counter() - started < 1.0


def test_spread_keys_of_zero_is_empty() -> None:
    assert spread_keys(0) == []


def test_bulk_keys_on_an_empty_backlog_are_spread_keys() -> None:
    assert keys_for_append(None, 7) == spread_keys(7)
    assert keys_for_prepend(None, 7) == spread_keys(7)


def test_bulk_keys_land_after_the_last_or_before_the_first_key_in_order() -> None:
    keys = spread_keys(50)

    appended = keys_for_append(keys[-1], 100)
    prepended = keys_for_prepend(keys[0], 100)

    assert_keys_order([*prepended, *keys, *appended])
    assert max(len(key) for key in [*appended, *prepended]) <= 3


# --- str order is byte order ------------------------------------------------------------------


@st.composite
def order_keys(draw: st.DrawFn) -> str:
    """Any well-formed library key: an integer part, then a fraction not ending in "0"."""
    head = draw(st.sampled_from(string.ascii_letters))
    integer_length = ord(head) - ord("a") + 2 if head.islower() else ord("Z") - ord(head) + 2
    digits = st.sampled_from(ordering.DIGITS)
    size = integer_length - 1
    integer = head + "".join(draw(st.lists(digits, min_size=size, max_size=size)))
    fraction = "".join(draw(st.lists(digits, max_size=6))).rstrip("0")
    key = integer + fraction
    if key == "A" + "0" * 26:  # the library reserves the smallest integer
        key += "V"
    return key


@settings(max_examples=300, deadline=None)
@given(a=order_keys(), b=order_keys())
def test_key_between_any_two_keys_sorts_strictly_between_as_str_and_as_bytes(
    a: str, b: str
) -> None:
    assume(a != b)
    low, high = sorted([a, b])

    middle = key_between(low, high)
    first = key_between(None, low)
    last = key_between(high, None)

    assert_keys_order([first, low, middle, high, last])


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 200))
def test_keys_from_any_sequence_of_inserts_sort_the_same_as_str_and_as_bytes(
    seed: int, steps: int
) -> None:
    rng = random.Random(seed)
    keys = spread_keys(rng.randrange(0, 5))
    for _ in range(steps):
        index = rng.randrange(len(keys) + 1)
        keys.insert(index, key_for_position(keys, moving_index=None, target_index=index))

    shuffled = rng.sample(keys, len(keys))
    assert sorted(shuffled) == sorted(shuffled, key=str.encode) == keys


# --- invalid input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [("a1", "a1"), ("a2", "a1"), ("a0V", "a0F")],
)
def test_key_between_refuses_neighbours_out_of_order(before: str, after: str) -> None:
    with pytest.raises(ValueError, match="must sort before"):
        key_between(before, after)


@pytest.mark.parametrize(
    "key",
    ["", "a", "b0", "a00", "a0V0", "a0-", "a0 ", "a0é", "!0", "A" + "0" * 26],
)
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        key_between(key, None)
    with pytest.raises(ValueError):
        key_between(None, key)
    with pytest.raises(ValueError):
        key_for_move(moving_key=key, before_key=None, after_key=None)


def test_key_between_refuses_a_key_that_is_not_a_string() -> None:
    with pytest.raises(ValueError):
        key_between(7, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moving_index", "target_index"),
    [(-1, 0), (3, 0), (0, -1), (0, 3), (None, 4), (None, -1)],
)
def test_key_for_position_refuses_indexes_out_of_range(
    moving_index: int | None, target_index: int
) -> None:
    with pytest.raises(ValueError, match="outside"):
        key_for_position(spread_keys(3), moving_index=moving_index, target_index=target_index)


def test_negative_key_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        spread_keys(-1)
    with pytest.raises(ValueError, match="negative"):
        keys_for_append("a0", -1)
    with pytest.raises(ValueError, match="negative"):
        keys_for_prepend(None, -1)


def test_keys_that_validate_key_accepts_are_accepted_by_the_library() -> None:
    """validate_key is not stricter than needed: every key it passes, the library takes."""
    for key in ["a0", "Zz", "a0V", "b00", "zzzzzzzzzzzzzzzzzzzzzzzzzzz", "A" + "0" * 26 + "1"]:
        validate_key(key)
        generate_key_between(key, None)


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=0, max_size=300, unique=True))
def test_keys_for_order_keep_a_longest_run_in_order_and_sort_as_asked(positions):
    """Any new order of existing keys: the result sorts in that order, and exactly
    n − (longest increasing run) keys change, the fewest any reorder can change."""
    base = ordering.spread_keys(401)
    keys = [base[p] for p in positions]
    new = ordering.keys_for_order(keys)
    assert new == sorted(new) and len(set(new)) == len(new)
    assert all(ordering.validate_key(key) is None for key in new)
    longest = len(ordering._longest_increasing(keys))
    assert sum(a != b for a, b in zip(keys, new, strict=True)) == len(keys) - longest


def test_keys_for_order_moves_only_the_items_put_on_top():
    keys = ordering.spread_keys(1000)
    wanted = [keys[900], keys[5], keys[500]]
    asked = wanted + [k for k in keys if k not in wanted]
    new = ordering.keys_for_order(asked)
    assert new == sorted(new)
    assert [a for a, b in zip(asked, new, strict=True) if a != b] == wanted
