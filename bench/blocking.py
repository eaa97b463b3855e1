"""Sparsity blocking: scalar streams vs streams of B x B tiles, side by side in one run.

    .venv/bin/python bench/blocking.py [--blocks 8,16,32] [--seq 256] [--d-model 64] [--heads 2]

Two workloads, each compiled fully fused twice per block size B and checked against PyTorch
eager; printed per B: cycles, tokens, ALU/reduce operations (a tile product counts its 2B^3
scalar operations), memory bytes, and the scalar/blocked cycle ratio. Tile costs are
``HardwareConfig``'s Comal defaults (docs/simulator.md).

- The attention region of the GPT-3 block (``fuseflow.workloads.gpt3_bigbird``) with its BigBird
  mask of B x B blocks as CSR (scalar streams over the stored entries) and as ``bsr(B,B)``.
- The SAE encoder ``relu(x W^T + b)`` with a block-pruned weight (a ``density`` fraction of its
  B x B blocks kept, the rest zero) as CSR and as ``bsr(B,B)`` (x and b tiled by the compiler).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch

import fuseflow

warnings.filterwarnings("ignore", message="Sparse (BS[RC]|CSR) tensor support is in beta")


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


def measure(model, args, sparse=None, region: str | None = None) -> dict:
    """Compile fully fused, simulate, check; the counters of the whole program, or of the region
    whose expression contains ``region``."""
    prog = fuseflow.compile(model, args, sparse=sparse, fusion="full")
    res = fuseflow.simulate(prog, args)
    for got, want in zip(res.outputs, prog.reference(args), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    names = [r.name for r in prog.regions if region is None or any(region in e for e in r.exprs)]
    nodes = [n for name in names for n in res.stats[name]]
    return {"cycles": sum(res.region_cycles[name] for name in names), "tokens": sum(n.tokens_out for n in nodes),
            "ops": sum(n.ops for n in nodes), "bytes": sum(n.bytes_read + n.bytes_written for n in nodes)}


HEADER = (f"{'B':>3} {'nnz':>8} | {'scalar cycles':>13} {'tokens':>10} {'ops':>11} {'bytes':>10} | "
          f"{'blocked cycles':>14} {'tokens':>10} {'ops':>11} {'bytes':>10} | {'scalar/blocked':>14}")


def row(block: int, nnz: int, s: dict, b: dict) -> str:
    return (f"{block:>3} {nnz:>8,} | {s['cycles']:>13,} {s['tokens']:>10,} {s['ops']:>11,} {s['bytes']:>10,} | "
            f"{b['cycles']:>14,} {b['tokens']:>10,} {b['ops']:>11,} {b['bytes']:>10,} | "
            f"{s['cycles'] / b['cycles']:>13.2f}x")


def attention(a, blocks: list[int]) -> None:
    from fuseflow import workloads

    print(f"GPT-3 block attention region: d_model {a.d_model}, {a.heads} heads, seq {a.seq}, BigBird mask "
          "of BxB blocks, fully fused, checked against PyTorch")
    print(HEADER)
    for block in blocks:
        if a.seq % block or (a.d_model // a.heads) % block:
            print(f"{block:>3}: does not divide seq and the head size; skipped")
            continue
        w = workloads.gpt3_bigbird(a.d_model, a.heads, 2 * a.d_model, seq=a.seq, block=block, seed=a.seed)
        t = time.perf_counter()
        s = measure(w.model, w.args, {"mask": "csr"}, "stored_max")
        b = measure(w.model, w.args, {"mask": f"bsr{block}"}, "stored_max")
        print(row(block, int((w.args[1] != 0).sum()), s, b) + f"  ({time.perf_counter() - t:.0f} s)", flush=True)


def encoder(a, blocks: list[int]) -> None:
    g = torch.Generator().manual_seed(a.seed)
    x = torch.rand(a.batch, a.in_features, generator=g)
    bias = torch.randn(a.hidden, generator=g) * 0.1
    print(f"SAE encoder relu(x W^T + b): x {a.batch}x{a.in_features}, W {a.hidden}x{a.in_features} "
          f"with {a.density:.0%} of its BxB blocks kept, fully fused, checked against PyTorch")
    print(HEADER)
    for block in blocks:
        if a.in_features % block or a.hidden % block or a.batch % block:
            print(f"{block:>3}: does not divide the sizes; skipped")
            continue
        w = block_pruned(a.hidden, a.in_features, block, a.density, a.seed + block)
        model = Encoder(bias).eval()
        s = measure(model, (x, w.to_sparse_csr()))
        b = measure(model, (x, w.to_sparse_bsr((block, block))))
        print(row(block, int((w != 0).sum()), s, b), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", default="8,16,32")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--in-features", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--density", type=float, default=0.25, help="fraction of the encoder weight's BxB blocks kept")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    blocks = [int(b) for b in a.blocks.split(",")]
    attention(a, blocks)
    print()
    encoder(a, blocks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
