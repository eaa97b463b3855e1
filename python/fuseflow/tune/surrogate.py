"""Surrogate models: a Gaussian process for the objective, a random forest for feasibility.

The GP is a BoTorch ``SingleTaskGP`` with a Matern-5/2 kernel, one lengthscale per encoded
feature under a dimension-scaled log-normal prior and a log-normal noise prior, fitted by maximum
a posteriori with L-BFGS from several starts (the prior's mode, then draws from the prior); the
best posterior wins. Targets are standardized by the caller's ``Transform``. The random-forest alternative
(``RandomForestSurrogate``) predicts a mean and the spread of its trees.

``FeasibilityModel`` is a scikit-learn random forest classifier trained on every evaluated point
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
    from botorch.models import SingleTaskGP
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
    from gpytorch.means import LinearMean
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
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


def _matern52(X: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
    Z = X / ls
    sq = (Z.unsqueeze(-2) - Z.unsqueeze(-3)).pow(2).sum(-1)
    r = torch.sqrt(sq.clamp_min(1e-30))
    return (1 + _SQRT5 * r + (5.0 / 3.0) * sq) * torch.exp(-_SQRT5 * r)


_TREND_SCALE = 1.0  # prior standard deviation of the linear-mean weights (standardized units)


def _fit_map(X: torch.Tensor, y: torch.Tensor, ls_loc: float, ls_scale: float, restarts: int,
             maxiter: int, seed: int, trend: bool = False):
    """Maximum a posteriori hyperparameters of the Matern-5/2 ARD GP, by L-BFGS-B over log
    lengthscales, log noise and the mean (a constant, plus with ``trend`` a linear term per
    feature under a normal prior), from several starts.

    This is the marginal likelihood and priors of the BoTorch model, written as one small
    torch function: GPyTorch's general machinery costs milliseconds per evaluation, which
    would dominate a tuner iteration. Returns ``(lengthscales, noise, constant, weights)`` or
    ``None`` when every start fails numerically.
    """
    from scipy.optimize import minimize as scipy_minimize

    n, d = X.shape
    nw = d if trend else 0
    eye = torch.eye(n, dtype=DTYPE)
    lo = np.r_[np.full(d, math.log(_MIN_LENGTHSCALE)), math.log(_MIN_NOISE), -10.0, np.full(nw, -10.0)]
    hi = np.r_[np.full(d, math.log(1e3)), math.log(10.0), 10.0, np.full(nw, 10.0)]

    def loss_and_grad(theta: np.ndarray):
        t = torch.as_tensor(theta, dtype=DTYPE).requires_grad_(True)
        log_ls, log_noise, c, w = t[:d], t[d], t[d + 1], t[d + 2:]
        K = _matern52(X, torch.exp(log_ls)) + (torch.exp(log_noise) + 1e-8) * eye
        try:
            L = torch.linalg.cholesky(K)
        except RuntimeError:
            return 1e10, np.zeros_like(theta)
        mean = c + (X @ w if nw else 0.0)
        r = (y - mean).unsqueeze(-1)
        alpha = torch.cholesky_solve(r, L)
        nll = 0.5 * (r * alpha).sum() + torch.log(torch.diagonal(L)).sum()
        # log-normal priors on the lengthscales and the noise (density of the value itself)
        nlp = ((log_ls - ls_loc) ** 2 / (2 * ls_scale**2) + log_ls).sum()
        nlp = nlp + (log_noise - _NOISE_LOC) ** 2 / (2 * _NOISE_SCALE**2) + log_noise
        if nw:
            nlp = nlp + (w**2).sum() / (2 * _TREND_SCALE**2)
        loss = (nll + nlp) / n
        loss.backward()
        g = t.grad.numpy().copy()
        return float(loss.detach()), np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)

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
    if best is None:
        return None
    b = torch.as_tensor(best, dtype=DTYPE)
    return torch.exp(b[:d]).reshape(1, d), torch.exp(b[d]).reshape(1), b[d + 1], b[d + 2:]


class GPSurrogate:
    """A Matern-5/2 ARD Gaussian process on encoded points, standardized targets."""

    def __init__(self, restarts: int = 2, maxiter: int = 200, trend: bool = False):
        self.restarts = max(1, restarts)
        self.maxiter = maxiter
        self.trend = trend
        self.model: SingleTaskGP | None = None

    def _build(self, X: torch.Tensor, Y: torch.Tensor) -> SingleTaskGP:
        covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=X.shape[-1], use_rbf_kernel=False)
        mean = LinearMean(X.shape[-1]) if self.trend else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SingleTaskGP(X, Y, covar_module=covar, mean_module=mean, outcome_transform=None)

    def fit(self, X: np.ndarray, y: np.ndarray, seed: int = 0) -> GPSurrogate:
        Xt = torch.as_tensor(X, dtype=DTYPE)
        Yt = torch.as_tensor(np.asarray(y, dtype=float).reshape(-1, 1), dtype=DTYPE)
        model = self._build(Xt, Yt)
        prior = model.covar_module.lengthscale_prior
        params = _fit_map(Xt, Yt.squeeze(-1), float(prior.loc), float(prior.scale),
                          self.restarts, self.maxiter, seed, self.trend)
        if params is not None:
            ls, noise, const, weights = params
            model.covar_module.lengthscale = ls.clamp_min(_MIN_LENGTHSCALE)
            model.likelihood.noise = noise.clamp_min(_MIN_NOISE)
            if self.trend:
                with torch.no_grad():
                    model.mean_module.bias.fill_(float(const))
                    model.mean_module.weights.copy_(weights.reshape(-1, 1))
            else:
                model.mean_module.constant = const
        model.eval()
        self.model = model
        self._X, self._Y = Xt, Yt
        return self

    def with_observations(self, X: np.ndarray, y: np.ndarray) -> GPSurrogate:
        """The same hyperparameters conditioned on extra (pretend) observations: the kriging
        believer used for batch proposals."""
        if self.model is None:
            raise RuntimeError("fit() first")
        Xt = torch.cat([self._X, torch.as_tensor(X, dtype=DTYPE)])
        Yt = torch.cat([self._Y, torch.as_tensor(np.asarray(y, float).reshape(-1, 1), dtype=DTYPE)])
        model = self._build(Xt, Yt)
        model.load_state_dict(self.model.state_dict(), strict=False)
        model.eval()
        out = GPSurrogate(self.restarts, self.maxiter, self.trend)
        out.model, out._X, out._Y = model, Xt, Yt
        return out

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.model is None:
            raise RuntimeError("fit() first")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = self.model.posterior(torch.as_tensor(X, dtype=DTYPE))
            mean = post.mean.squeeze(-1).numpy()
            var = post.variance.squeeze(-1).clamp_min(1e-12).numpy()
        return mean, np.sqrt(var)


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
    """Probability of feasibility from a random forest classifier (hidden constraints)."""

    def __init__(self, n_estimators: int = 50):
        self.n_estimators = n_estimators
        self.model = None
        self.constant: float | None = None

    def fit(self, X: np.ndarray, feasible: np.ndarray, seed: int = 0) -> FeasibilityModel:
        feasible = np.asarray(feasible, dtype=bool)
        if feasible.all() or not feasible.any():
            self.constant, self.model = float(feasible.all()), None
            return self
        self.constant = None
        self.model = RandomForestClassifier(
            n_estimators=self.n_estimators, min_samples_leaf=1, class_weight="balanced",
            random_state=seed % (2**31), n_jobs=1).fit(X, feasible)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.constant is not None:
            return np.full(len(X), 1.0 if self.constant else 0.0)
        proba = self.model.predict_proba(X)
        col = list(self.model.classes_).index(True)
        return proba[:, col]
