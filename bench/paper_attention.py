"""The attention region of the paper-size GPT-3 block, fully fused, at paper scale: how long the
simulator takes and how much memory it needs, with the outputs checked against PyTorch eager.

    .venv/bin/python bench/paper_attention.py                 # seq 1024, 12 heads of 64, block 32
    .venv/bin/python bench/paper_attention.py --seq 256       # smaller, for a quick look
    .venv/bin/python bench/paper_attention.py --json

The region is what full fusion makes of the block's attention (region 1 of
``fuseflow.compile(GPTBigBirdBlock.paper(), ..., fusion="full")``: scores ``q @ k^T`` on the
BigBird mask's stored entries, the masked softmax and ``probs @ v``), compiled here from a module
that holds exactly those ops with ``q``, ``k``, ``v`` (heads x seq x 64) and the mask (CSR) as
inputs, so that the block's projections (dense GEMMs, another billion tokens) need not be
simulated first. ``--compare-block`` checks that correspondence at a small size: the standalone
region's cycles against region 1 of the whole block compiled fully fused (they differ by the
layout of q, k and v only: a few cycles in a million).

Reported: cycles, tokens and operations the simulator counted, the simulation's wall time and
simulated tokens per second, the engine's peak memory and the process's peak resident memory
(``ru_maxrss``, which includes torch and MLIR), and whether the outputs matched.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def attention_module():
    import torch

    class MaskedAttention(torch.nn.Module):
        """The fully fused attention region of ``GPTBigBirdBlock``: per head, softmax over the
        mask's stored entries of q k^T / sqrt(d), times v."""

        def forward(self, q, k, v, mask):
            scores = (q @ k.transpose(1, 2)) * (1.0 / math.sqrt(q.shape[-1]))
            scores = scores.masked_fill(mask == 0, float("-inf"))
            return torch.softmax(scores, dim=-1) @ v

    return MaskedAttention()


def inputs(seq: int, heads: int, dh: int, block: int, seed: int = 0):
    import torch

    from fuseflow.models.bigbird import bigbird_mask

    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(heads, seq, dh, generator=g) for _ in range(3))
    return q, k, v, bigbird_mask(seq, block, seed=seed)


def run(seq: int, heads: int, dh: int, block: int, progress: bool) -> dict:
    import fuseflow

    q, k, v, mask = inputs(seq, heads, dh, block)
    t0 = time.perf_counter()
    program = fuseflow.compile(attention_module(), (q, k, v, mask), fusion="full", sparse={"mask": "csr"})
    compiled = time.perf_counter() - t0

    def report(region, cycles, tokens, fraction):
        if progress:
            share = f", outer loop {fraction:.0%}" if fraction is not None else ""
            print(f"  {region}: {cycles:,} cycles, {tokens:,} tokens{share} ({time.perf_counter() - t1:.0f} s)",
                  file=sys.stderr, flush=True)

    t1 = time.perf_counter()
    res = fuseflow.simulate(program, (q, k, v, mask), progress=report)
    simulated = time.perf_counter() - t1
    t2 = time.perf_counter()
    want = program.reference_outputs((q, k, v, mask))
    from fuseflow.simulation import check_outputs

    check_outputs(res, want[0], *want[1])  # raises on a mismatch
    checked = time.perf_counter() - t2
    totals = res.totals()
    return {
        "seq": seq, "heads": heads, "head_dim": dh, "block": block,
        "mask_density": float(mask.mean()),
        "cycles": res.cycles, "tokens": totals["tokens"], "ops": totals["ops"],
        "compile_s": round(compiled, 1), "simulate_s": round(simulated, 1), "check_s": round(checked, 1),
        "tokens_per_s": totals["tokens"] / simulated if simulated else 0.0,
        "engine_peak_mb": res.memory_peak / 1e6,
        "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "checked": True,
    }


def compare_block(seq: int = 128, heads: int = 4, dh: int = 16, block: int = 16) -> dict:
    """Region 1 of the whole block, fully fused, against the standalone region."""
    import fuseflow
    from fuseflow import workloads

    w = workloads.gpt3_bigbird(heads * dh, heads, 4 * heads * dh, seq=seq, block=block)
    whole = fuseflow.simulate(fuseflow.compile(w.model, w.args, fusion="full", sparse=w.sparse), list(w.args), check=True)
    x, mask = w.args
    model = w.model
    d = heads * dh
    qkv = model.qkv(model.ln1(x)).detach()
    q, k, v = (t.reshape(seq, heads, dh).transpose(0, 1).contiguous() for t in qkv.split(d, dim=-1))
    alone = fuseflow.compile(attention_module(), (q, k, v, mask), fusion="full", sparse={"mask": "csr"})
    res = fuseflow.simulate(alone, (q, k, v, mask), check=True)
    return {"block_region1": whole.region_cycles["main_region1"], "standalone": res.cycles}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--compare-block", action="store_true", help="check the region against the whole block (small)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.compare_block:
        doc = compare_block()
        print(json.dumps(doc) if args.json else
              f"region 1 of the fully fused block: {doc['block_region1']:,} cycles; standalone region: "
              f"{doc['standalone']:,} cycles")
        return 0
    doc = run(args.seq, args.heads, args.head_dim, args.block, not args.quiet)
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"attention region, seq {doc['seq']}, {doc['heads']} heads of {doc['head_dim']}, block {doc['block']} "
          f"(mask density {doc['mask_density']:.3f}), fully fused, outputs checked against PyTorch:")
    print(f"  {doc['cycles']:,} cycles, {doc['tokens']:,} tokens, {doc['ops']:,} ops")
    print(f"  compile {doc['compile_s']} s, simulate {doc['simulate_s']} s ({doc['tokens_per_s']:.3g} tokens/s), "
          f"check {doc['check_s']} s")
    print(f"  engine peak {doc['engine_peak_mb']:.1f} MB, process peak RSS {doc['max_rss_gb']:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
