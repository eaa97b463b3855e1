"""Built-in workloads: a model, example inputs and the sparse formats, by name.

Used by ``fuseflow compile NAME``, ``fuseflow demo`` and the tests; everything is synthetic and
seeded, so no data files are needed. A user workload is a Python file defining
``workload() -> Workload`` (see ``load``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuseflow.errors import FuseflowError


@dataclass
class Workload:
    """What ``fuseflow.compile`` needs: ``model``, ``args`` (forward() arguments, torch tensors,
    sparse ones as torch sparse layouts) and ``sparse`` (extra formats by name)."""

    name: str
    model: Any
    args: tuple
    sparse: dict[str, str] = field(default_factory=dict)
    description: str = ""


def _graph(nodes: int, mean_degree: float, seed: int):
    from fuseflow.data import gcn_normalize, powerlaw_graph

    return gcn_normalize(powerlaw_graph(nodes, mean_degree, seed=seed))


def gcn(nodes: int = 64, features: int = 16, hidden: int = 16, classes: int = 7, seed: int = 0) -> Workload:
    import torch

    from fuseflow.data import random_features, to_torch
    from fuseflow.models import GCN

    adj = to_torch(_graph(nodes, 4.0, seed), "csr")
    x = torch.from_numpy(random_features(nodes, features, seed=seed))
    return Workload("gcn", GCN(features, hidden, classes, seed=seed).eval(), (adj, x), {},
                    f"2-layer GCN on a {nodes}-node power-law graph (CSR adjacency)")


def sae(in_features: int = 64, hidden: int = 16, batch: int = 8, seed: int = 0) -> Workload:
    from fuseflow.models import SparseAutoencoder

    model = SparseAutoencoder(in_features, hidden, seed=seed).eval()
    return Workload("sae", model, (model.example_input(batch, seed),),
                    {"enc.weight": "csr", "dec.weight": "csr"},
                    f"sparse autoencoder {in_features}->{hidden}->{in_features}, 90% sparse CSR weights")


def spmm(m: int = 32, k: int = 32, n: int = 8, density: float = 0.1, seed: int = 0) -> Workload:
    import torch

    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(m, k, generator=g) * (torch.rand(m, k, generator=g) < density)).to_sparse_csr()

    class SpMM(torch.nn.Module):
        def forward(self, a, b):
            return a @ b

    return Workload("spmm", SpMM(), (a, torch.randn(k, n, generator=g)), {},
                    f"SpMM {m}x{k} CSR ({density:.0%}) times {k}x{n} dense")


def gpt3_bigbird(d_model: int = 32, heads: int = 2, ffn: int = 64, seq: int = 32, block: int = 8,
                 seed: int = 0) -> Workload:
    """A GPT-3 decoder block with BigBird block-sparse attention (the mask as a CSR input)."""
    from fuseflow.models import GPTBigBirdBlock

    model = GPTBigBirdBlock(d_model, heads, ffn, seed=seed).eval()
    x, mask = model.example_inputs(seq, block, seed=seed)
    return Workload("gpt3_bigbird", model, (x, mask), {"mask": "csr"},
                    f"GPT-3 decoder block d_model {d_model}, {heads} heads, FFN {ffn}, seq {seq}, "
                    f"BigBird mask with {block}x{block} blocks (CSR)")


BUILTIN: dict[str, Callable[..., Workload]] = {"gcn": gcn, "sae": sae, "spmm": spmm,
                                               "gpt3_bigbird": gpt3_bigbird}


def load(spec: str) -> Workload:
    """A built-in workload by name, or ``path/to/file.py`` defining ``workload()``."""
    if spec in BUILTIN:
        return BUILTIN[spec]()
    path = Path(spec)
    if path.suffix != ".py":
        raise FuseflowError(f"unknown workload '{spec}': built-ins are {', '.join(BUILTIN)}; "
                            "or give a Python file that defines workload()")
    if not path.is_file():
        raise FuseflowError(f"workload file '{spec}' does not exist")
    module_spec = importlib.util.spec_from_file_location(f"fuseflow_workload_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    factory = getattr(module, "workload", None)
    if not callable(factory):
        raise FuseflowError(f"{spec} does not define a function workload() returning a fuseflow.workloads.Workload")
    w = factory()
    if not isinstance(w, Workload):
        raise FuseflowError(f"{spec}: workload() returned {type(w).__name__}, not a Workload")
    return w


def graphsage(nodes: int = 64, features: int = 16, hidden: int = 16, classes: int = 7, seed: int = 0) -> Workload:
    import torch

    from fuseflow.data import powerlaw_graph, random_features, to_torch
    from fuseflow.models import GraphSAGE

    adj = to_torch(powerlaw_graph(nodes, 4.0, seed=seed), "csr")
    x = torch.from_numpy(random_features(nodes, features, seed=seed))
    return Workload("graphsage", GraphSAGE(features, hidden, classes, seed=seed).eval(), (adj, x), {},
                    f"2-layer GraphSAGE (mean aggregation) on a {nodes}-node power-law graph")


BUILTIN.update({"graphsage": graphsage})
