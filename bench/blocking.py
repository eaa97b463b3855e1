"""Sparsity blocking: scalar streams vs streams of B x B tiles, side by side in one run.

    .venv/bin/python bench/blocking.py [--in-features 256] [--hidden 64] [--batch 32] [--density 0.25]

The SAE encoder ``relu(x W^T + b)`` with a block-pruned weight (a ``density`` fraction of its
B x B blocks kept, the rest zero), compiled fully fused twice per block size B: W as CSR (scalar
streams over the same nonzeros) and W as ``bsr(B,B)`` (tile streams; x and b are tiled by the
compiler). Printed per B: cycles, tokens, ALU/reduce operations (a tile product counts its 2B^3
scalar operations), memory bytes, and the scalar/blocked cycle ratio. Both outputs are checked
against PyTorch eager. Tile costs are ``HardwareConfig``'s Comal defaults (docs/simulator.md).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch

import fuseflow

warnings.filterwarnings("ignore", message="Sparse BS[RC] tensor support is in beta")


class Encoder(torch.nn.Module):
    def __init__(self, bias: torch.Tensor):
        super().__init__()
        self.bias = torch.nn.Parameter(bias, requires_grad=False)

    def forward(self, x, w):
        return torch.relu(x @ w.t() + self.bias)


def block_pruned(rows: int, cols: int, block: int, density: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(rows // block, cols // block, generator=g) < density
    keep[0, 0] = True
    mask = keep.repeat_interleave(block, 0).repeat_interleave(block, 1)
    return torch.randn(rows, cols, generator=g) * mask / cols**0.5


def measure(model, args) -> dict:
    t = time.perf_counter()
    prog = fuseflow.compile(model, args, fusion="full")
    res = fuseflow.simulate(prog, args)
    for got, want in zip(res.outputs, prog.reference(args), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    totals = res.totals()
    return {"cycles": res.cycles, "tokens": totals["tokens"], "ops": totals["ops"],
            "bytes": totals["bytes_read"] + totals["bytes_written"], "seconds": time.perf_counter() - t}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--in-features", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--density", type=float, default=0.25, help="fraction of B x B blocks kept")
    ap.add_argument("--blocks", default="4,8,16")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    g = torch.Generator().manual_seed(a.seed)
    x = torch.rand(a.batch, a.in_features, generator=g)
    bias = torch.randn(a.hidden, generator=g) * 0.1
    print(f"SAE encoder relu(x W^T + b): x {a.batch}x{a.in_features}, W {a.hidden}x{a.in_features} "
          f"with {a.density:.0%} of its BxB blocks kept, fully fused, checked against PyTorch")
    print(f"{'B':>3} {'nnz':>7} | {'scalar cycles':>13} {'tokens':>9} {'ops':>9} {'bytes':>9} | "
          f"{'blocked cycles':>14} {'tokens':>9} {'ops':>9} {'bytes':>9} | {'scalar/blocked':>14}")
    for block in (int(b) for b in a.blocks.split(",")):
        if a.in_features % block or a.hidden % block or a.batch % block:
            print(f"{block:>3}: does not divide the sizes; skipped")
            continue
        w = block_pruned(a.hidden, a.in_features, block, a.density, a.seed + block)
        model = Encoder(bias).eval()
        s = measure(model, (x, w.to_sparse_csr()))
        b = measure(model, (x, w.to_sparse_bsr((block, block))))
        print(f"{block:>3} {int((w != 0).sum()):>7} | {s['cycles']:>13,} {s['tokens']:>9,} {s['ops']:>9,} "
              f"{s['bytes']:>9,} | {b['cycles']:>14,} {b['tokens']:>9,} {b['ops']:>9,} {b['bytes']:>9,} | "
              f"{s['cycles'] / b['cycles']:>13.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
