import pytest

from fuseflow.sim import DATA, DONE, EMPTY, STOP, Fifo


def test_fifo_order_payloads_and_timestamps():
    f = Fifo()
    f.push(DATA, 7, time=3)
    f.push(DATA, 2.5, time=4)
    f.push(STOP, 2, time=5)
    f.push(EMPTY, time=6)
    f.push(DONE, time=7)
    assert len(f) == 5
    assert f.peek() == (DATA, 7, 0.0, 3)
    assert [f.pop() for _ in range(5)] == [
        (DATA, 7, 0.0, 3),
        (DATA, 0, 2.5, 4),
        (STOP, 2, 0.0, 5),
        (EMPTY, 0, 0.0, 6),
        (DONE, 0, 0.0, 7),
    ]
    with pytest.raises(IndexError):
        f.pop()


def test_bounded_fifo_applies_backpressure():
    f = Fifo(depth=2)
    f.push(DATA, 1)
    assert not f.full
    f.push(DATA, 2)
    assert f.full
    with pytest.raises(OverflowError):
        f.push(DATA, 3)
    f.pop()
    assert not f.full
    f.push(DATA, 3)
    assert [f.pop()[1] for _ in range(2)] == [2, 3]


def test_unbounded_fifo_grows_and_wraps():
    f = Fifo()
    for _ in range(3):
        for k in range(1000):
            f.push(DATA, k, time=k)
        for k in range(997):
            assert f.pop()[1] == k
        assert len(f) == 3
        while len(f):
            f.pop()
    assert f.pushed == 3000 and f.high_water == 1000


def test_bad_arguments():
    with pytest.raises(ValueError):
        Fifo(depth=-1)
    with pytest.raises(ValueError):
        Fifo().push(42)
