"""Spaces: known constraints, conditional parameters, enumeration and rejection sampling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fuseflow import tune
from fuseflow.tune.space import INACTIVE_CODE


def make_space(**kw):
    return tune.Space(
        [tune.Ordinal("b", [8, 16, 32, 64]), tune.Ordinal("p", [1, 2, 4, 8]),
         tune.Permutation("order", ["i", "j", "k"])],
        constraints=["p <= b // 8", lambda q: q["b"] <= 16 or q["order"][0] == "i"], **kw)


def brute_force(space):
    out = []
    for vals in itertools.product(*(p.values() for p in space.params)):
        pt = dict(zip(space.names, vals, strict=True))
        if space.is_feasible(pt):
            out.append(pt)
    return out


def test_tree_enumeration_matches_brute_force():
    space = make_space()
    got = sorted(map(space.key, space.enumerate()))
    assert got == sorted(map(space.key, brute_force(space)))
    assert space.size() == len(got) > 0


def test_rejection_sampling_only_yields_feasible_points():
    space = make_space(enumeration_limit=5)  # force rejection sampling
    assert space.feasible_points is None
    pts = space.sample(np.random.default_rng(1), 300)
    assert all(space.is_feasible(p) for p in pts)
    # every feasible point is reachable
    assert len({space.key(p) for p in pts}) > 0.8 * len(brute_force(make_space()))


def test_sampling_from_enumeration_is_uniform_over_feasible():
    space = make_space()
    pts = space.sample(np.random.default_rng(0), 4000)
    counts = {}
    for p in pts:
        counts[space.key(p)] = counts.get(space.key(p), 0) + 1
    assert len(counts) == space.size()
    assert max(counts.values()) < 3 * min(counts.values())


def test_latin_hypercube_is_feasible_and_stratified():
    space = tune.Space([tune.Real("x", 0, 1), tune.Integer("n", 1, 10)], constraints=["n >= 2"])
    pts = space.latin_hypercube(np.random.default_rng(0), 10)
    assert all(space.is_feasible(p) for p in pts)
    # one x per tenth of [0, 1], except for the one point (n == 1) resampled uniformly;
    # 10 uniform draws fill about 6.5 tenths on average
    assert len({int(p["x"] * 10) for p in pts}) >= 9


def test_empty_space_errors_clearly():
    space = tune.Space([tune.Ordinal("b", [8, 16])], constraints=["b > 100"])
    with pytest.raises(tune.EmptySpaceError, match="no point satisfies"):
        space.sample(np.random.default_rng(0))
    cont = tune.Space([tune.Real("x", 0, 1)], constraints=["x > 2"], max_rejections=200)
    with pytest.raises(tune.EmptySpaceError, match="no feasible point found"):
        cont.sample(np.random.default_rng(0))


def test_unknown_names_in_constraints_are_rejected():
    with pytest.raises(tune.SpaceError, match="unknown parameter"):
        tune.Space([tune.Ordinal("b", [8])], constraints=["q > 1"])


def test_conditional_parameter_is_none_when_inactive():
    space = tune.Space([
        tune.Categorical("mode", ["dense", "blocked"]),
        tune.Ordinal("block", [4, 8, 16], condition="mode == 'blocked'"),
    ])
    pts = space.enumerate()
    assert sorted((space.key(p) for p in pts), key=repr) == sorted(
        [("dense", None), ("blocked", 4), ("blocked", 8), ("blocked", 16)], key=repr)
    assert space.normalize({"mode": "dense", "block": 8}) == {"mode": "dense", "block": None}
    assert space.normalize({"mode": "blocked"}) == {"mode": "blocked", "block": 4}
    nbs = space.neighbours({"mode": "dense", "block": None}, np.random.default_rng(0))
    assert nbs == [{"mode": "blocked", "block": 4}]
    X = space.encode(pts)
    assert X.shape == (4, 3)
    # inactive: a code no active value has, so "dense" does not look like "blocked, block 4"
    assert X[[space.key(p) for p in pts].index(("dense", None))][2] == INACTIVE_CODE
    assert (X[:, 2][X[:, 0] == 0] >= 0).all()


def test_differing_parameters_counts_parameters_not_features():
    space = tune.Space([
        tune.Categorical("mode", ["dense", "blocked", "tiled"]),
        tune.Ordinal("block", [4, 8, 16], condition="mode == 'blocked'"),
        tune.Permutation("order", ["i", "j", "k"]),
    ])
    a = {"mode": "dense", "block": None, "order": ("i", "j", "k")}
    b = {"mode": "blocked", "block": 4, "order": ("i", "j", "k")}
    c = {"mode": "blocked", "block": 8, "order": ("k", "j", "i")}
    assert space.differing_parameters([a]) == 0.0
    assert space.differing_parameters([a, b]) == 2.0  # mode, and block inactive vs active
    assert space.differing_parameters([b, c]) == 2.0  # block and order, however encoded
    assert space.differing_parameters([a, b, c]) == pytest.approx((2 + 3 + 2) / 3)


def test_condition_may_only_read_earlier_parameters():
    with pytest.raises(tune.SpaceError, match="unknown parameter"):
        tune.Space([tune.Ordinal("a", [1, 2], condition="b > 1"), tune.Ordinal("b", [1, 2])])


def test_neighbours_respect_constraints():
    space = make_space()
    g = np.random.default_rng(0)
    for p in space.enumerate():
        for nb in space.neighbours(p, g):
            assert space.is_feasible(nb)
            assert space.key(nb) != space.key(p)


def test_point_json_roundtrip_and_validation():
    space = make_space()
    p = {"b": 16, "p": 2, "order": ("j", "i", "k")}
    assert space.from_json(space.to_json(p)) == p
    with pytest.raises(tune.SpaceError, match="breaks constraint"):
        space.validate_point({"b": 8, "p": 8, "order": ("i", "j", "k")})
