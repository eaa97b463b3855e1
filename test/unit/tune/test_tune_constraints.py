"""Constraint analysis: points built feasible step by step, memoized checks, size estimates,
and the GP's hand-written likelihood gradient and posterior."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fuseflow import tune
from fuseflow.tune.constraints import ConstraintSet


def loop_space(**kw):
    """A 5-loop order under precedences with knobs tied by constraints (a TACO-like shape)."""
    return tune.Space(
        [tune.Permutation("order", ["i0", "i1", "k", "j0", "j1"]),
         tune.Ordinal("chunk", [1, 2, 4, 8, 16, 32]), tune.Ordinal("unroll", [1, 2, 4, 8]),
         tune.Categorical("sched", ["static", "dynamic"]), tune.Integer("threads", 1, 16)],
        constraints=["before(order, 'i0', 'i1')", "before(order, 'j0', 'j1')",
                     "before(order, 'i1', 'k')", "threads % 2 == 0", "unroll <= chunk",
                     "chunk * threads <= 64 or sched == 'dynamic'"], **kw)


def brute_force(space):
    out = []
    for vals in itertools.product(*(p.values() for p in space.params)):
        pt = space.normalize(dict(zip(space.names, vals, strict=True)))
        if space.is_feasible(pt):
            out.append(space.key(pt))
    return set(out)


def test_precedences_leave_the_linear_extensions():
    cs = ConstraintSet(loop_space().params, loop_space()._constraints)
    orders = cs.domain(0)
    # i0 < i1 < k and j0 < j1: 5! / (3! 2!) orders
    assert len(orders) == 10
    assert all(o.index("i0") < o.index("i1") < o.index("k") and o.index("j0") < o.index("j1")
               for o in orders)


def test_walk_estimate_and_built_points_agree_with_brute_force():
    truth = brute_force(loop_space())
    space = loop_space(enumeration_limit=10)  # too large to enumerate: points are built
    assert space.feasible_points is None
    assert {space.key(p) for p in space.iter_feasible()} == truth
    assert abs(space.estimated_size() - len(truth)) < 0.1 * len(truth)
    pts = space.sample(np.random.default_rng(0), 2000)
    keys = [space.key(p) for p in pts]
    assert set(keys) <= truth
    assert len(set(keys)) > 0.5 * min(len(truth), 2000)  # spread over the space


def test_a_large_space_is_not_walked_before_sampling(monkeypatch):
    space = loop_space(enumeration_limit=100)
    walked = []
    monkeypatch.setattr(type(space), "_walk", lambda self, node_limit=math.inf: walked.append(1) or iter(()))
    assert space.feasible_points is None  # the estimate (about 2,100) exceeds 4 x the limit
    assert walked == []


def test_expressions_are_evaluated_once_per_combination_and_checks_stop_early():
    calls = []

    class Counting(tune.Expression):
        def __call__(self, point):
            calls.append(self.text)
            return super().__call__(point)

    params = [tune.Ordinal("a", [1, 2, 3]), tune.Ordinal("b", [1, 2, 3])]
    cs = ConstraintSet(params, [(Counting("a < b"), "a < b"), (Counting("a + b < 5"), "a + b < 5")])
    for _ in range(3):
        assert not cs.feasible({"a": 3, "b": 1})
    assert calls == ["a < b"]  # memoized, and the second constraint is never reached
    assert cs.violations({"a": 3, "b": 1}) == ["a < b"]


def test_repair_keeps_the_values_the_constraints_allow():
    space = loop_space()
    rng = np.random.default_rng(3)
    bad = {"order": ("i0", "i1", "k", "j0", "j1"), "chunk": 1, "unroll": 8, "sched": "static", "threads": 7}
    fixed = space.repair(bad, rng)
    assert space.is_feasible(fixed)
    assert fixed["order"] == bad["order"] and fixed["chunk"] == 1 and fixed["sched"] == "static"
    good = dict(bad, unroll=1, threads=8)
    assert space.repair(good, rng) == space.normalize(good)


def test_conditional_parameters_are_built_with_their_activation():
    space = tune.Space(
        [tune.Categorical("fmt", ["csr", "bitmap"]),
         tune.Ordinal("block", [2, 4, 8], condition="fmt == 'bitmap'"),
         tune.Ordinal("par", [1, 2, 4])],
        constraints=["block is None or par <= block"], enumeration_limit=1)
    assert space.feasible_points is None
    truth = brute_force(space)
    assert {space.key(p) for p in space.iter_feasible()} == truth
    for p in space.sample(np.random.default_rng(0), 200):
        assert space.key(p) in truth
        assert (p["block"] is None) == (p["fmt"] == "csr")


def test_map_loss_gradient_matches_finite_differences():
    from scipy.optimize import check_grad

    from fuseflow.tune.surrogate import map_loss

    rng = np.random.default_rng(0)
    X, y = rng.random((12, 3)), rng.standard_normal(12)
    for trend in (False, True):
        f, lo, hi = map_loss(X, y, 1.5, 1.7, trend)
        theta = np.clip(rng.normal(0, 0.5, len(lo)), lo, hi)
        err = check_grad(lambda t, f=f: f(t)[0], lambda t, f=f: f(t)[1], theta)
        assert err < 1e-5 * max(1.0, np.linalg.norm(f(theta)[1]))


def test_gp_posterior_matches_botorch_with_the_same_hyperparameters():
    import torch
    from botorch.models import SingleTaskGP
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior

    from fuseflow.tune.surrogate import GPSurrogate

    rng = np.random.default_rng(1)
    X, y = rng.random((10, 2)), rng.standard_normal(10)
    gp = GPSurrogate().fit(X, y)
    covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=2, use_rbf_kernel=False)
    ref = SingleTaskGP(torch.as_tensor(X), torch.as_tensor(y).reshape(-1, 1), covar_module=covar,
                       outcome_transform=None)
    ref.covar_module.lengthscale = torch.as_tensor(gp._ls).reshape(1, 2)
    ref.likelihood.noise = torch.as_tensor([gp._noise])
    ref.mean_module.constant = torch.as_tensor(gp._const)
    ref.eval()
    Xq = rng.random((7, 2))
    with torch.no_grad():
        post = ref.posterior(torch.as_tensor(Xq))
    mean, std = gp.predict(Xq)
    assert mean == pytest.approx(post.mean.squeeze(-1).numpy(), abs=1e-5)
    assert std == pytest.approx(post.variance.squeeze(-1).sqrt().numpy(), abs=1e-5)
