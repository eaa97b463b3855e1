"""Small PyTorch kernels for the lowering tests, with seeded inputs."""

from __future__ import annotations

import torch


def sparse(shape, density, seed, layout="csr"):
    g = torch.Generator().manual_seed(seed)
    d = torch.rand(*shape, generator=g) * (torch.rand(*shape, generator=g) < density)
    d = d - 0.5 * (d > 0)  # mixed signs
    if layout == "csr":
        return d.to_sparse_csr()
    if layout == "csc":
        return d.to_sparse_csc()
    if layout == "coo":
        return d.to_sparse_coo().coalesce()
    return d


def _negative_rows():
    d = sparse((12, 10), 0.3, 0, layout="dense")
    d[:4] = -torch.rand(4, 10, generator=torch.Generator().manual_seed(3)) - 0.1
    d[4] = 0.0
    return d.to_sparse_csr()


def dense(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


class Fn(torch.nn.Module):
    """A kernel from a lambda (forward(*args) = fn(*args))."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


KERNELS = {
    # name: (fn, args factory, sparse formats)
    "spmv": (lambda a, x: a @ x, lambda: (sparse((12, 10), 0.3, 0), dense((10,), 1)), {}),
    "spmm": (lambda a, b: a @ b, lambda: (sparse((12, 10), 0.3, 0), dense((10, 6), 1)), {}),
    "spmm_csc": (lambda a, b: a @ b, lambda: (sparse((12, 10), 0.3, 0), dense((10, 6), 1)), {"arg0": "csc"}),
    "spmm_dcsr": (lambda a, b: a @ b, lambda: (sparse((12, 10), 0.3, 0), dense((10, 6), 1)), {"arg0": "dcsr", "arg1": "d1:dense,d0:dense"}),
    "sddmm": (lambda m, q, k: (q @ k.t()) * m, lambda: (sparse((12, 12), 0.3, 0), dense((12, 4), 1), dense((12, 4), 2)), {}),
    "bias": (lambda a, x, b: a @ x + b, lambda: (sparse((12, 10), 0.3, 0), dense((10, 6), 1), dense((6,), 2)),
             {"arg1": "d1:dense,d0:dense"}),
    "rowsum": (lambda a: a.sum(1), lambda: (sparse((12, 10), 0.3, 0),), {}),
    "rowmax_dense": (lambda a: a.amax(1), lambda: (dense((12, 10), 0),), {}),
    # over a sparse operand the implicit zeros count: rows 0-3 are full and all negative (their
    # max is negative), the others have absent entries (max >= 0) and row 4 is empty
    "rowmax": (lambda a: a.amax(1), lambda: (_negative_rows(),), {}),
    "colmin_csc": (lambda a: a.amin(0), lambda: (-_negative_rows().t().to_dense().to_sparse_csr(),), {"arg0": "csc"}),
    "rowmax_of_relu": (lambda a: torch.relu(a).amax(1), lambda: (sparse((12, 10), 0.3, 0),), {}),
    "relu": (lambda a: torch.relu(a), lambda: (sparse((12, 10), 0.3, 0),), {}),
    "exp": (lambda x: torch.exp(x), lambda: (dense((6, 5), 0),), {}),
    "gelu": (lambda x: torch.nn.functional.gelu(x), lambda: (dense((6, 5), 0),), {}),
    "chain": (lambda a, b, c: a @ b @ c, lambda: (sparse((8, 10), 0.3, 0), dense((10, 6), 1), dense((6, 5), 2)), {}),
}

for _layout in ("csr", "csc", "coo", "dcsr"):
    KERNELS[f"add_{_layout}"] = (lambda a, b: a + b,
                                 lambda: (sparse((12, 10), 0.3, 0), sparse((12, 10), 0.3, 5)),
                                 {"arg0": _layout, "arg1": _layout})
    KERNELS[f"mul_{_layout}"] = (lambda a, b: a * b,
                                 lambda: (sparse((12, 10), 0.5, 0), sparse((12, 10), 0.5, 5)),
                                 {"arg0": _layout, "arg1": _layout})
