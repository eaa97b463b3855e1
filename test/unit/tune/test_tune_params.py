"""Parameter types: sampling, validation, neighbours and encodings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fuseflow import tune


def rng():
    return np.random.default_rng(0)


def test_real_linear_and_log():
    r = tune.Real("x", 1.0, 100.0)
    assert r.encode(1.0) == [0.0] and r.encode(100.0) == [1.0]
    lg = tune.Real("x", 1.0, 100.0, log=True)
    assert lg.encode(10.0) == pytest.approx([0.5])
    assert lg.default == pytest.approx(10.0)
    g = rng()
    for _ in range(200):
        v = lg.sample(g)
        assert 1.0 <= v <= 100.0
    assert all(1.0 <= v <= 100.0 for v in lg.neighbours(99.9, g))
    with pytest.raises(tune.SpaceError):
        r.validate(101)
    with pytest.raises(tune.SpaceError):
        tune.Real("x", 0.0, 1.0, log=True)


def test_integer_range_neighbours_and_stratified():
    p = tune.Integer("u", 1, 8)
    assert p.values() == list(range(1, 9))
    assert p.neighbours(1, rng()) == [2, 3]  # +1 and a larger step
    assert set(p.neighbours(4, rng())) >= {3, 5}
    strata = p.stratified(8, rng())
    assert sorted(strata) == list(range(1, 9))  # one value per stratum
    assert p.encode(1) == [0.0] and p.encode(8) == [1.0]
    with pytest.raises(tune.SpaceError):
        p.validate(2.5)
    assert tune.Integer("n", 1, 1024, log=True).encode(32) == pytest.approx([0.5])


def test_ordinal_log_scaled_for_powers_of_two():
    b = tune.Ordinal("b", [8, 16, 32, 64])
    assert b.log
    assert b.encode(16) == pytest.approx([1 / 3])
    assert b.neighbours(8, rng()) == [16]
    assert b.neighbours(32, rng()) == [16, 64]
    lin = tune.Ordinal("c", [1, 3, 10])
    assert not lin.log and lin.encode(3) == pytest.approx([2 / 9])
    named = tune.Ordinal("level", ["low", "mid", "high"])
    assert named.encode("mid") == [0.5]
    with pytest.raises(tune.SpaceError):
        tune.Ordinal("d", [4, 2])
    with pytest.raises(tune.SpaceError):
        b.validate(12)


def test_categorical_one_hot():
    c = tune.Categorical("fmt", ["csr", "dcsr", "bitmap"], default="dcsr")
    assert c.default == "dcsr"
    assert c.encode("bitmap") == [0.0, 0.0, 1.0]
    assert c.width == 3
    assert sorted(c.neighbours("csr", rng())) == ["bitmap", "dcsr"]


@pytest.mark.parametrize("encoding,width", [("spearman", 4), ("kendall", 6), ("hamming", 16)])
def test_permutation_encodings_are_injective(encoding, width):
    p = tune.Permutation("order", ["i", "j", "k", "l"], encoding=encoding)
    assert p.width == width
    codes = {tuple(p.encode(v)) for v in itertools.permutations(p.items)}
    assert len(codes) == math.factorial(4)
    assert all(len(c) == width for c in codes)


def test_permutation_encoding_values():
    sp = tune.Permutation("o", ["i", "j", "k"], encoding="spearman")
    assert sp.encode(("k", "i", "j")) == [0.5, 1.0, 0.0]  # position of i, j, k
    kd = tune.Permutation("o", ["i", "j", "k"], encoding="kendall")
    assert kd.encode(("j", "i", "k")) == [0.0, 1.0, 1.0]  # i<j? i<k? j<k?
    hm = tune.Permutation("o", ["i", "j", "k"], encoding="hamming")
    assert hm.encode(("j", "i", "k")) == [0, 1, 0, 1, 0, 0, 0, 0, 1]


def test_permutation_neighbours_and_validation():
    p = tune.Permutation("o", "ijk")
    nbs = p.neighbours(("i", "j", "k"), rng())
    assert ("j", "i", "k") in nbs and ("k", "j", "i") in nbs  # adjacent and distant swaps
    assert len(nbs) == len(set(nbs)) == 3
    assert p.validate("k,i,j") == ("k", "i", "j")
    assert p.validate(["j", "k", "i"]) == ("j", "k", "i")
    with pytest.raises(tune.SpaceError):
        p.validate(("i", "i", "k"))
    with pytest.raises(tune.SpaceError):
        tune.Permutation("o", "ijk", encoding="cayley")


def test_bad_names_rejected():
    with pytest.raises(tune.SpaceError):
        tune.Ordinal("not a name", [1])
