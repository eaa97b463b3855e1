"""Surrogate models: a Gaussian process for the objective, a random forest for feasibility.

The GP is BoTorch's ``SingleTaskGP`` model: a Matern-5/2 kernel, one lengthscale per encoded
feature under BoTorch's dimension-scaled log-normal prior (in a conditional space scaled for the
parameters that differ between the points rather than the features, see ``GPSurrogate.fit``)
and a log-normal noise prior, fitted by maximum a posteriori with L-BFGS from several starts
(the prior's mode, then draws from the prior); the best posterior wins. Its posterior is
computed from a cached Cholesky factor. Targets are standardized by the caller's
``Transform``. The random-forest alternative
(``RandomForestSurrogate``) predicts a mean and the spread of its trees.

``FeasibilityModel`` is a scikit-learn random forest (extra trees) classifier trained on every evaluated point
(feasible or not); it returns the probability that a point is feasible.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

with warnings.catch_warnings():  # (the 'tune' extra: loaded once a search starts)
    warnings.simplefilter("ignore")
    import torch
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    from threadpoolctl import threadpool_limits

DTYPE = torch.float64


@contextlib.contextmanager
def torch_threads(n: int):
    """Run a block with ``n`` torch and BLAS threads: the matrices here are tiny, and idle
    BLAS threads spinning on a busy machine cost more than they save."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(old)


class Transform:
    """Objective transform for the surrogate: log (when every value is positive), then
    standardize. ``log=None`` chooses automatically."""

    def __init__(self, y: np.ndarray, log: bool | None = None):
        y = np.asarray(y, dtype=float)
        self.log = bool(np.all(y > 0)) if log is None else log
        if self.log and np.any(y <= 0):
            raise ValueError("log transform needs positive objective values")
        t = np.log(y) if self.log else y
        self.mean = float(t.mean())
        self.std = float(t.std()) or 1.0

    def __call__(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return ((np.log(y) if self.log else y) - self.mean) / self.std


_MIN_LENGTHSCALE = 2.5e-2  # the lower bounds BoTorch puts on these hyperparameters
_MIN_NOISE = 1e-4
_NOISE_LOC, _NOISE_SCALE = -4.0, 1.0  # BoTorch's log-normal noise prior
_SQRT5 = math.sqrt(5.0)


_TREND_SCALE = 1.0  # prior standard deviation of the linear-mean weights (standardized units)


def map_loss(X: np.ndarray, y: np.ndarray, ls_loc: float, ls_scale: float, trend: bool = False):
    """The negative log posterior (per point) of the Matern-5/2 ARD GP's hyperparameters
    ``[log lengthscales, log noise, constant, trend weights]`` and its gradient, with their
    bounds: ``(loss_and_grad, lower, upper)``.

    This is the marginal likelihood and priors of the BoTorch model (log-normal lengthscale and
    noise priors, a normal prior on trend weights), written as one small numpy function with
    its analytic gradient: GPyTorch's general machinery (or autograd on matrices this small)
    costs milliseconds per evaluation, which would dominate a tuner iteration.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    n, d = X.shape
    nw = d if trend else 0
    eye = np.eye(n)
    lo = np.r_[np.full(d, math.log(_MIN_LENGTHSCALE)), math.log(_MIN_NOISE), -10.0, np.full(nw, -10.0)]
    hi = np.r_[np.full(d, math.log(1e3)), math.log(10.0), 10.0, np.full(nw, 10.0)]
    diff2 = (X[:, None, :] - X[None, :, :]) ** 2  # n x n x d squared differences

    def loss_and_grad(theta: np.ndarray):
        log_ls, log_noise, c, w = theta[:d], theta[d], theta[d + 1], theta[d + 2:]
        scaled = diff2 / np.exp(2 * log_ls)  # (x_a - x_b)^2 / l^2 per feature
        sq = scaled.sum(-1)
        r = np.sqrt(sq)
        e = np.exp(-_SQRT5 * r)
        noise = math.exp(log_noise)
        K = (1 + _SQRT5 * r + (5.0 / 3.0) * sq) * e + (noise + 1e-8) * eye
        try:
            cf = cho_factor(K, lower=True, check_finite=False)
        except (LinAlgError, ValueError):
            return 1e10, np.zeros_like(theta)
        resid = y - c - (X @ w if nw else 0.0)
        alpha = cho_solve(cf, resid, check_finite=False)
        nll = 0.5 * resid @ alpha + np.log(np.diagonal(cf[0])).sum()
        # d nll / d theta = 0.5 tr((K^-1 - alpha alpha^T) dK/d theta)
        W = cho_solve(cf, eye, check_finite=False) - np.outer(alpha, alpha)
        G = (5.0 / 3.0) * (1 + _SQRT5 * r) * e  # dk/dlog l_j = G * scaled_j
        g_ls = 0.5 * np.einsum("ab,abj->j", W * G, scaled)
        g_noise = 0.5 * np.trace(W) * noise
        g_c = -alpha.sum()
        g_w = -(X.T @ alpha) if nw else np.zeros(0)
        # log-normal priors on the lengthscales and the noise (density of the value itself)
        nlp = ((log_ls - ls_loc) ** 2 / (2 * ls_scale**2) + log_ls).sum()
        nlp += (log_noise - _NOISE_LOC) ** 2 / (2 * _NOISE_SCALE**2) + log_noise
        g_ls = g_ls + (log_ls - ls_loc) / ls_scale**2 + 1.0
        g_noise += (log_noise - _NOISE_LOC) / _NOISE_SCALE**2 + 1.0
        if nw:
            nlp += (w**2).sum() / (2 * _TREND_SCALE**2)
            g_w = g_w + w / _TREND_SCALE**2
        g = np.r_[g_ls, g_noise, g_c, g_w] / n
        return float((nll + nlp) / n), np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)

    return loss_and_grad, lo, hi


def _fit_map(X: np.ndarray, y: np.ndarray, ls_loc: float, ls_scale: float, restarts: int,
             maxiter: int, seed: int, trend: bool = False):
    """Maximum a posteriori hyperparameters of the GP (``map_loss``) by L-BFGS-B from several
    starts: the prior's mode, then draws from the prior. Returns the best log hyperparameters, or ``None``
    when every start fails numerically.
    """
    from scipy.optimize import minimize as scipy_minimize

    y = np.asarray(y, dtype=float).reshape(-1)
    d = np.shape(X)[1]
    nw = d if trend else 0
    loss_and_grad, lo, hi = map_loss(X, y, ls_loc, ls_scale, trend)
    rng = np.random.default_rng(seed)
    best, best_loss = None, math.inf
    ls_mode = ls_loc - ls_scale**2  # mode of the log-normal, in log space
    for start in range(restarts):
        log_ls = (np.full(d, ls_mode) if start == 0
                  else ls_loc + ls_scale * rng.standard_normal(d) * 0.5)
        theta0 = np.clip(np.r_[log_ls, _NOISE_LOC - _NOISE_SCALE**2, float(y.mean()), np.zeros(nw)],
                         lo, hi)
        try:
            res = scipy_minimize(loss_and_grad, theta0, jac=True, method="L-BFGS-B",
                                 bounds=list(zip(lo, hi, strict=True)),
                                 options={"maxiter": maxiter})
        except (ValueError, RuntimeError):
            continue
        if np.isfinite(res.fun) and res.fun < best_loss:
            best, best_loss = res.x, res.fun
    return best


def _matern52_np(A: np.ndarray, B: np.ndarray, ls: np.ndarray) -> np.ndarray:
    Za, Zb = A / ls, B / ls
    sq = np.maximum((Za * Za).sum(1)[:, None] + (Zb * Zb).sum(1)[None, :] - 2.0 * Za @ Zb.T, 0.0)
    r = np.sqrt(sq)
    return (1 + _SQRT5 * r + (5.0 / 3.0) * sq) * np.exp(-_SQRT5 * r)


class GPSurrogate:
    """A Matern-5/2 ARD Gaussian process on encoded points, standardized targets.

    The hyperparameters are BoTorch's ``SingleTaskGP`` priors fitted by MAP (``_fit_map``); the
    posterior of the latent function is computed here from a cached Cholesky factor (a
    prediction over a thousand candidates is one matrix product, where a BoTorch posterior
    costs tens of milliseconds).
    """

    def __init__(self, restarts: int = 2, maxiter: int = 200, trend: bool = False):
        self.restarts = max(1, restarts)
        self.maxiter = maxiter
        self.trend = trend
        self.theta: np.ndarray | None = None  # log lengthscales, log noise, constant, weights

    @staticmethod
    def _prior(d: int) -> tuple[float, float]:
        covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=d, use_rbf_kernel=False)
        prior = covar.lengthscale_prior
        return float(prior.loc), float(prior.scale)

    def fit(self, X: np.ndarray, y: np.ndarray, seed: int = 0,
            dims: float | None = None) -> GPSurrogate:
        """Fit to encoded points ``X`` and standardized targets ``y``. ``dims``: the dimension
        the lengthscale prior is scaled for (``None``: one per encoded feature; in a conditional
        space the tuner passes ``Space.differing_parameters``: BoTorch's prior assumes every
        feature is a parameter that varies between points, and over inactive branches it
        would put the lengthscales so long that the model is sure of points no evaluation is
        near)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        n, d = X.shape
        loc, scale = self._prior(d if dims is None else max(1, round(dims)))
        theta = _fit_map(X, y, loc, scale, self.restarts, self.maxiter, seed, self.trend)
        if theta is None:  # every start failed numerically: the prior's mode
            theta = np.r_[np.full(d, loc - scale**2), _NOISE_LOC - _NOISE_SCALE**2, float(y.mean()),
                          np.zeros(d if self.trend else 0)]
        self.theta = theta
        return self._condition(X, y)

    def _condition(self, X: np.ndarray, y: np.ndarray) -> GPSurrogate:
        d = X.shape[1]
        th = self.theta
        self._ls = np.maximum(np.exp(th[:d]), _MIN_LENGTHSCALE)
        self._noise = max(float(np.exp(th[d])), _MIN_NOISE)
        self._const = float(th[d + 1])
        self._w = th[d + 2:] if self.trend else None
        K = _matern52_np(X, X, self._ls) + (self._noise + 1e-8) * np.eye(len(X))
        jitter = 1e-8
        while True:
            try:
                self._L = np.linalg.cholesky(K)
                break
            except np.linalg.LinAlgError:
                jitter *= 10
                if jitter > 1e-2:
                    raise
                K = K + jitter * np.eye(len(X))
        self._X, self._y = X, y
        self._alpha = _cho_solve(self._L, y - self._mean(X))
        return self

    def _mean(self, X: np.ndarray) -> np.ndarray:
        return self._const + (X @ self._w if self._w is not None else 0.0)

    def with_observations(self, X: np.ndarray, y: np.ndarray) -> GPSurrogate:
        """The same hyperparameters conditioned on extra (pretend) observations: the kriging
        believer used for batch proposals."""
        if self.theta is None:
            raise RuntimeError("fit() first")
        out = GPSurrogate(self.restarts, self.maxiter, self.trend)
        out.theta = self.theta
        return out._condition(np.vstack([self._X, np.asarray(X, float)]),
                              np.r_[self._y, np.asarray(y, float).reshape(-1)])

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.theta is None:
            raise RuntimeError("fit() first")
        X = np.asarray(X, dtype=float)
        Ks = _matern52_np(self._X, X, self._ls)
        mean = self._mean(X) + Ks.T @ self._alpha
        v = _solve_lower(self._L, Ks)
        var = np.maximum(1.0 - (v * v).sum(0), 1e-12)
        return mean, np.sqrt(var)


def _solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    return solve_triangular(L, B, lower=True, check_finite=False)


def _cho_solve(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    return cho_solve((L, True), b, check_finite=False)


class RandomForestSurrogate:
    """A random-forest regressor: mean of the trees, their spread as uncertainty."""

    def __init__(self, n_estimators: int = 100):
        self.n_estimators = n_estimators
        self.model = None

    def fit(self, X: np.ndarray, y: np.ndarray, seed: int = 0) -> RandomForestSurrogate:
        self.model = ExtraTreesRegressor(n_estimators=self.n_estimators, min_samples_leaf=1,
                                         bootstrap=True, random_state=seed % (2**31)).fit(X, y)
        return self

    def with_observations(self, X: np.ndarray, y: np.ndarray) -> RandomForestSurrogate:
        return self  # a forest is not conditioned cheaply; batches rely on distinctness instead

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        per_tree = np.stack([t.predict(X) for t in self.model.estimators_])
        return per_tree.mean(0), per_tree.std(0) + 1e-6


class FeasibilityModel:
    """Probability of feasibility from a random forest classifier (hidden constraints): extremely
    randomized trees, which fit several times faster than bootstrapped best-split trees on the
    few tens of points a tuner has and classify as well there.

    Predictions read the fitted trees directly (one array lookup per tree), which spares the
    per-call dispatch of scikit-learn's ``predict_proba`` in the acquisition's inner loop.
    """

    def __init__(self, n_estimators: int = 30):
        self.n_estimators = n_estimators
        self.model = None
        self.constant: float | None = None

    def fit(self, X: np.ndarray, feasible: np.ndarray, seed: int = 0) -> FeasibilityModel:
        feasible = np.asarray(feasible, dtype=bool)
        if feasible.all() or not feasible.any():
            self.constant, self.model = float(feasible.all()), None
            return self
        self.constant = None
        self.model = ExtraTreesClassifier(
            n_estimators=self.n_estimators, min_samples_leaf=1, class_weight="balanced",
            random_state=seed % (2**31), n_jobs=1).fit(X, feasible)
        self._col = list(self.model.classes_).index(True)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.constant is not None:
            return np.full(len(X), 1.0 if self.constant else 0.0)
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        total = np.zeros(len(X))
        for est in self.model.estimators_:
            tree = est.tree_
            leaf = tree.apply(X32)
            counts = tree.value[leaf, 0, :]
            total += counts[:, self._col] / np.maximum(counts.sum(1), 1e-12)
        return total / len(self.model.estimators_)
