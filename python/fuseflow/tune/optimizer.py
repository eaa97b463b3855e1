"""The tuning loop: design of experiments, then Bayesian optimization with hidden constraints.

    >>> from fuseflow import tune
    >>> space = tune.Space([tune.Ordinal("b", [8, 16, 32, 64]), tune.Permutation("order", "ijk")])
    >>> res = tune.minimize(lambda p: p["b"] * (1 + p["order"].index("k")), space, budget=12, seed=0)
    >>> len(res.history), res.best_value <= 64
    (12, True)

Each iteration: fit the GP on the feasible evaluations (log objective, standardized), fit the
random-forest feasibility classifier on all of them, and propose ``batch_size`` points that
maximize EI x PoF (each further point of a batch sees the earlier ones as kriging-believer
observations). The random state of every iteration is derived from ``(seed, evaluations so
far)``, so a run resumed from its log proposes exactly what the uninterrupted run would have.

Multi-objective mode (``n_objectives > 1``): each iteration scalarizes the normalized
objectives with random Dirichlet weights (augmented Chebyshev, as ParEGO) and the result carries
the Pareto front.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.tune.evaluation import Evaluation, Outcome, evaluate
from fuseflow.tune.executors import Executor, make_executor
from fuseflow.tune.log import EvaluationLog
from fuseflow.tune.pareto import pareto_front
from fuseflow.tune.space import Space, SpaceError


class TuneError(FuseflowError):
    """A tuning run cannot start or continue."""


@dataclass(frozen=True)
class Settings:
    """Search settings (the defaults suit budgets of tens of evaluations).

    ``doe``: design-of-experiments size after the default point (``None``: 3, at most a third
    of the budget: the GP's priors cope with little data, and every evaluation spent on the
    design is one not spent on the search); ``doe_method``: ``"lhs"`` or
    ``"random"``; ``surrogate``: ``"gp"`` or ``"rf"``; ``log_objective``: model the log of the
    objective (``None``: when every value is positive); ``n_candidates`` random candidates
    scored per proposal, ``n_starts`` local searches; ``min_feasibility``: candidates below this
    predicted feasibility are excluded; ``gp_restarts``: hyperparameter fitting starts;
    ``gp_trend``: a linear GP mean (extrapolates monotone effects, misleads on others);
    ``seeds``: points known to be good (e.g. a cost model's picks), evaluated right after the
    default point and before the design (infeasible or out-of-space ones are skipped);
    ``explore_after``: once the best value has not improved for this many evaluations, and
    again after each further such run, one proposal is the most uncertain feasible point
    rather than the best expected improvement (0: never). Expected improvement under a smooth
    GP settles into the best region found, and a needle elsewhere (one order of one fusion
    granularity, say) would never be tried.
    """

    doe: int | None = None
    doe_method: str = "lhs"
    surrogate: str = "gp"
    log_objective: bool | None = None
    n_candidates: int = 1000
    n_starts: int = 5
    min_feasibility: float = 0.2
    gp_restarts: int = 2
    gp_trend: bool = False
    torch_threads: int = 1
    seeds: tuple = ()
    explore_after: int = 6

    def __post_init__(self):
        def bad(name: str, want: str):
            raise TuneError(f"settings.{name} must be {want}, got {getattr(self, name)!r}")

        def integer(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        if self.doe is not None and not (integer(self.doe) and self.doe >= 0):
            bad("doe", "an integer >= 0 (or unset)")
        choices = {"doe_method": ("lhs", "random"), "surrogate": ("gp", "rf")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                bad(name, " or ".join(f"'{a}'" for a in allowed))
        for name, low in (("n_candidates", 1), ("n_starts", 0), ("gp_restarts", 0), ("torch_threads", 1),
                          ("explore_after", 0)):
            if not (integer(getattr(self, name)) and getattr(self, name) >= low):
                bad(name, f"an integer >= {low}")
        if self.log_objective is not None and not isinstance(self.log_objective, bool):
            bad("log_objective", "true, false (or unset)")
        if not isinstance(self.gp_trend, bool):
            bad("gp_trend", "true or false")
        feas = self.min_feasibility
        if isinstance(feas, bool) or not isinstance(feas, (int, float)) or not 0.0 <= feas <= 1.0:
            bad("min_feasibility", "a number in [0, 1]")
        if not isinstance(self.seeds, (tuple, list)):
            bad("seeds", "a list of points")

    def doe_size(self, space: Space, budget: int) -> int:
        if self.doe is not None:
            return max(0, self.doe)
        return max(1, min(3, budget // 3))


@dataclass
class Result:
    """The outcome of a run: every evaluation in order, the best feasible one, and (with several
    objectives) the Pareto front of feasible evaluations."""

    space: Space
    history: list[Evaluation]
    n_objectives: int = 1
    overhead: list[float] = field(default_factory=list)  # seconds spent proposing, per proposal
    exhausted: bool = False  # every feasible point was evaluated before the budget ran out

    @property
    def feasible(self) -> list[Evaluation]:
        return [e for e in self.history if e.feasible]

    @property
    def best(self) -> Evaluation | None:
        feas = self.feasible
        return min(feas, key=lambda e: (e.value, e.index)) if feas else None

    @property
    def best_point(self) -> dict | None:
        b = self.best
        return None if b is None else dict(b.point)

    @property
    def best_value(self) -> float | None:
        b = self.best
        return None if b is None else b.value

    @property
    def pareto_front(self) -> list[Evaluation]:
        feas = self.feasible
        return [feas[i] for i in pareto_front([e.values for e in feas])]

    def best_so_far(self) -> np.ndarray:
        """Best feasible value after each evaluation (``nan`` before the first feasible one)."""
        out, cur = [], math.inf
        for e in self.history:
            if e.feasible and e.value < cur:
                cur = e.value
            out.append(cur if math.isfinite(cur) else math.nan)
        return np.asarray(out)

    def __repr__(self) -> str:
        return (f"Result(evaluations={len(self.history)}, feasible={len(self.feasible)}, "
                f"best_value={self.best_value}, best_point={self.best_point})")


def _scalarize(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Augmented Chebyshev scalarization of objectives normalized to [0, 1]."""
    t = np.log(values) if np.all(values > 0) else values
    lo, hi = t.min(0), t.max(0)
    norm = (t - lo) / np.where(hi > lo, hi - lo, 1.0)
    return (norm * weights).max(1) + 0.05 * (norm * weights).sum(1)


class Tuner:
    """A tuning run with its state; ``minimize`` is the one-call front end.

    ``run(on_evaluation=...)`` calls back after every evaluation (progress bars use it).
    """

    def __init__(self, objective: Callable[[dict], Any], space: Space, *, budget: int,
                 seed: int = 0, n_objectives: int = 1, settings: Settings | None = None,
                 executor: str | Executor = "serial", workers: int | None = None,
                 address: str | None = None, batch_size: int | None = None, log: str | Path | None = None,
                 resume: bool = False,
                 infeasible_errors: tuple[type[BaseException], ...] = ()):
        if not isinstance(space, Space):
            raise TuneError(f"space must be a tune.Space, got {type(space).__name__}")
        if not callable(objective):
            raise TuneError("objective must be callable")
        if int(budget) != budget or budget < 1:
            raise TuneError(f"budget must be a positive integer, got {budget!r}")
        if n_objectives < 1:
            raise TuneError("n_objectives must be at least 1")
        self.objective, self.space, self.budget = objective, space, int(budget)
        self.seed, self.n_objectives = int(seed), int(n_objectives)
        self.settings = settings or Settings()
        if self.settings.doe_method not in ("lhs", "random"):
            raise TuneError(f"doe_method must be 'lhs' or 'random', got {self.settings.doe_method!r}")
        if self.settings.surrogate not in ("gp", "rf"):
            raise TuneError(f"surrogate must be 'gp' or 'rf', got {self.settings.surrogate!r}")
        self._executor_spec, self._workers, self._address = executor, workers, address
        self._batch_size = batch_size
        self.log_path, self.resume = (None if log is None else Path(log)), resume
        self.infeasible_errors = tuple(infeasible_errors)
        self.history: list[Evaluation] = []
        self.overhead: list[float] = []
        self._taken: set = set()
        self._doe_plan: list[dict] | None = None

    # -- proposals ----------------------------------------------------------------------------
    def _rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, len(self.history), salt])

    def _plan_doe(self) -> list[dict]:
        """The default point (if allowed by the constraints) then the DoE sample; fixed by the
        seed so a resumed run continues the same plan."""
        if self._doe_plan is None:
            rng = np.random.default_rng([self.seed, 0, 7])
            n = self.settings.doe_size(self.space, self.budget)
            plan: list[dict] = []
            default = self.space.default_point()
            if self.space.is_feasible(default):
                plan.append(default)
            for p in self.settings.seeds:
                try:
                    plan.append(self.space.validate_point(p))
                except SpaceError:
                    continue  # not a point of this space, or one its constraints exclude
            sampler = self.space.latin_hypercube if self.settings.doe_method == "lhs" else self.space.sample
            plan += sampler(rng, n)
            self._doe_plan = plan
        return self._doe_plan

    def _unique_random(self, rng, taken: set, n: int) -> list[dict]:
        from fuseflow.tune.acquisition import candidate_pool

        out: list[dict] = []
        for _ in range(10):
            for p in candidate_pool(self.space, rng, max(4 * n, 64), taken):
                out.append(p)
                taken.add(self.space.key(p))
                if len(out) == n:
                    return out
        return out

    def propose(self, n: int) -> list[tuple[dict, str]]:
        """Up to ``n`` new points, each with its phase (``default``, ``doe``, ``search``,
        ``random``); fewer only when the feasible space is exhausted."""
        taken = set(self._taken)
        out: list[tuple[dict, str]] = []
        for i, p in enumerate(self._plan_doe()):
            if len(out) == n:
                return out
            k = self.space.key(p)
            if k not in taken:
                taken.add(k)
                is_default = i == 0 and p == self.space.default_point()
                out.append((p, "default" if is_default else "doe"))
        if len(out) == n:
            return out
        # The DoE plan's points are taken (evaluated or in this batch); search for the rest.
        plan_keys = {self.space.key(p) for p in self._plan_doe()}
        if not plan_keys <= self._taken:
            rng = self._rng(1)
            return out + [(p, "doe") for p in self._unique_random(rng, taken, n - len(out))]
        return out + self._search(n - len(out), taken)

    def _search(self, n: int, taken: set) -> list[tuple[dict, str]]:
        from fuseflow.errors import missing_extra
        from fuseflow.tune import acquisition as acq_mod

        try:  # the surrogates need the 'tune' extra (BoTorch, scikit-learn)
            from fuseflow.tune import surrogate as sg
        except ModuleNotFoundError as e:
            raise (missing_extra(e) or e) from None

        rng = self._rng(2)
        feas = [e for e in self.history if e.feasible]
        if len(feas) < 2:
            return [(p, "random") for p in self._unique_random(rng, taken, n)]
        with sg.torch_threads(self.settings.torch_threads):
            X_all = self.space.encode([e.point for e in self.history])
            ok = np.array([e.feasible for e in self.history])
            Xf = X_all[ok]
            if self.n_objectives == 1:
                y = np.array([e.value for e in feas])
                transform = sg.Transform(y, self.settings.log_objective)
                yt = transform(y)
            else:
                w = rng.dirichlet(np.ones(self.n_objectives))
                yt = _scalarize(np.array([e.values for e in feas]), w)
                yt = (yt - yt.mean()) / (yt.std() or 1.0)
            fit_seed = self.seed * 100003 + len(self.history)
            if self.settings.surrogate == "gp":
                # A conditional space's encoded width counts every branch's features, constant
                # (inactive) between the points of a branch: the lengthscale prior is scaled for
                # the parameters that actually differ. An unconditional space keeps BoTorch's
                # scaling by features (measured better on every unconditional problem of
                # bench/tuner_compare.py).
                dims = (self.space.differing_parameters([e.point for e in feas])
                        if self.space.conditional else None)
                model = sg.GPSurrogate(self.settings.gp_restarts, trend=self.settings.gp_trend).fit(
                    Xf, yt, seed=fit_seed, dims=dims)
            else:
                model = sg.RandomForestSurrogate().fit(Xf, yt, seed=fit_seed)
            feas_model = None
            if not ok.all():
                feas_model = sg.FeasibilityModel().fit(X_all, ok, seed=fit_seed)
            best_idx = np.argsort(yt, kind="stable")[:3]
            starts = [feas[i].point for i in best_idx]
            out: list[tuple[dict, str]] = []
            stalled = self._stalled()
            k = self.settings.explore_after
            for j in range(n):
                explore = k > 0 and j == 0 and stalled > 0 and stalled % k == 0
                acq = acq_mod.Acquisition(model.predict, float(yt.min()),
                                          None if feas_model is None else feas_model.predict,
                                          self.settings.min_feasibility, explore)
                pt, _score = acq_mod.optimize(acq, self.space, rng, taken, starts,
                                              self.settings.n_candidates, self.settings.n_starts)
                if pt is None:
                    break
                taken.add(self.space.key(pt))
                out.append((pt, "search"))
                if len(out) < n:  # kriging believer: pretend the point scored its mean
                    xe = self.space.encode([pt])
                    model = model.with_observations(xe, model.predict(xe)[0])
        return out

    def _stalled(self) -> int:
        """Evaluations since the best feasible value last improved."""
        best, since = math.inf, 0
        for e in self.history:
            if e.feasible and e.value < best:
                best, since = e.value, 0
            else:
                since += 1
        return since

    # -- running ----------------------------------------------------------------------------
    def _record(self, point: dict, phase: str, outcome: Outcome, log: EvaluationLog | None) -> Evaluation:
        vals = outcome.values
        ev = Evaluation(index=len(self.history), point=point,
                        value=None if vals is None else vals[0], values=vals,
                        feasible=vals is not None, wall_time=outcome.wall_time,
                        error=outcome.error, phase=phase)
        if log is not None:
            log.append(ev)
        self.history.append(ev)
        self._taken.add(self.space.key(point))
        return ev

    def run(self, on_evaluation: Callable[[Evaluation, Tuner], None] | None = None) -> Result:
        log = None
        if self.log_path is not None:
            log = EvaluationLog(self.log_path, self.space, self.seed, self.n_objectives, self.resume)
            for ev in log.previous:
                self.history.append(ev)
                self._taken.add(self.space.key(ev.point))
        executor = make_executor(self._executor_spec, self._workers, self._address)
        q = max(1, self._batch_size or executor.workers)
        exhausted = False
        try:
            while len(self.history) < self.budget:
                t0 = time.perf_counter()
                batch = self.propose(min(q, self.budget - len(self.history)))
                self.overhead.append(time.perf_counter() - t0)
                if not batch:
                    exhausted = True
                    break
                futures: list[Future] = [
                    executor.submit(evaluate, self.objective, p, self.n_objectives,
                                    self.infeasible_errors) for p, _ in batch]
                # Log each evaluation as soon as it is known, in proposal order so that the
                # history (and hence the next proposal) does not depend on timing.
                for (point, phase), fut in zip(batch, futures, strict=True):
                    ev = self._record(point, phase, fut.result(), log)
                    if on_evaluation is not None:
                        on_evaluation(ev, self)
        finally:
            executor.close()
            if log is not None:
                log.close()
        return Result(self.space, list(self.history), self.n_objectives, list(self.overhead), exhausted)


def minimize(objective: Callable[[dict], Any], space: Space, budget: int = 40, seed: int = 0, *,
             n_objectives: int = 1, settings: Settings | None = None,
             executor: str | Executor = "serial", workers: int | None = None, address: str | None = None,
             batch_size: int | None = None, log: str | Path | None = None, resume: bool = False,
             infeasible_errors: Sequence[type[BaseException]] = (),
             on_evaluation: Callable[[Evaluation, Tuner], None] | None = None, **kw) -> Result:
    """Minimize ``objective`` over ``space`` with at most ``budget`` evaluations.

    ``objective(point) -> float`` (or a sequence of ``n_objectives`` floats); raise or return
    ``tune.Infeasible`` for a point that cannot be evaluated. ``log``: a JSONL file receiving
    each evaluation as it finishes; ``resume=True`` continues from it (the budget counts the
    logged evaluations). ``executor``: ``"serial"``, ``"process"``, ``"ray"`` or an
    ``Executor``; ``address``: the Ray cluster to run on (``HOST:PORT``; default: a local Ray
    instance); ``batch_size`` defaults to the executor's worker count. Other keywords are ``Settings``
    fields (e.g. ``doe=5``).
    """
    if kw:
        if settings is not None:
            raise TuneError("pass either settings= or individual setting keywords, not both")
        try:
            settings = Settings(**kw)
        except TypeError as e:
            raise TuneError(f"unknown tuning setting: {e}") from None
    tuner = Tuner(objective, space, budget=budget, seed=seed, n_objectives=n_objectives,
                  settings=settings, executor=executor, workers=workers, address=address, batch_size=batch_size,
                  log=log, resume=resume, infeasible_errors=tuple(infeasible_errors))
    return tuner.run(on_evaluation)
