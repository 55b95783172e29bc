"""`finevidbench.workers.ordered_map`: the results of `map`, in input order, whatever the number of processes."""

import os

import pytest

from finevidbench.workers import ordered_map


def square_and_pid(n):
    return n * n, os.getpid()


def fail_at_five(n):
    if n == 5:
        raise ValueError(f"item {n}")
    return n


def test_two_workers_give_maps_results_in_order_from_other_processes():
    results = list(ordered_map(square_and_pid, range(40), workers=2, ahead=3))
    assert [value for value, _ in results] == [n * n for n in range(40)]
    assert os.getpid() not in {pid for _, pid in results}
    assert [value for value, _ in ordered_map(square_and_pid, range(5), workers=1)] == [0, 1, 4, 9, 16]


def test_an_error_is_raised_at_its_items_turn_after_the_earlier_results():
    seen = []
    with pytest.raises(ValueError, match="item 5"):
        for value in ordered_map(fail_at_five, range(10), workers=2):
            seen.append(value)
    assert seen == [0, 1, 2, 3, 4]


def test_items_are_pulled_only_as_the_window_frees():
    pulled = []

    def items():
        for n in range(100):
            pulled.append(n)
            yield n

    stream = ordered_map(fail_at_five, items(), workers=2, ahead=4)
    assert next(stream) == 0
    assert len(pulled) <= 5  # the window, plus the one that refilled it
    stream.close()  # a consumer that stops early: the pool shuts down, the rest is never pulled
    assert len(pulled) <= 5
