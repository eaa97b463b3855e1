"""Compiled programs under the simulator's memory guard: a fully fused program whose FIFOs grow
past a small budget stops with a clear error naming the region, the node and the FIFO; the
process goes on and its memory comes back; an allocation the machine refuses is the same kind
of error, never an abort."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest
import torch

import fuseflow
from fuseflow.sim import HardwareConfig, MemoryBudgetError


class PostNormMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(32, 64)
        self.fc2 = torch.nn.Linear(64, 32)
        self.ln = torch.nn.LayerNorm(32)

    def forward(self, x):
        return self.ln(x + self.fc2(torch.relu(self.fc1(x))))


class Shifted(torch.nn.Module):
    def forward(self, x):
        return torch.exp(x - x.amax(dim=1, keepdim=True))


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.fixture(scope="module")
def mlp():
    torch.manual_seed(0)
    x = torch.randn(48, 32)
    return fuseflow.compile(PostNormMlp().eval(), (x,), fusion="full"), x


def test_fused_fifos_over_budget_name_region_node_and_fifo(mlp):
    program, x = mlp
    # unbounded FIFOs let producers run ahead; 1 MiB is less than they take
    with pytest.raises(MemoryBudgetError) as e:
        fuseflow.simulate(program, (x,), hw=HardwareConfig(fifo_depth=0, max_memory_mb=1))
    text = str(e.value)
    assert text.startswith("graph 'main_region0': simulation memory over its budget of 1.0 MiB")
    assert f"node {e.value.node!r} grew fifo {e.value.fifo} (" in text
    assert "max_memory_mb" in text
    # the process is alive and simulates the same program, checked, under the default budget
    res = fuseflow.simulate(program, (x,), check=True)
    assert 0 < res.memory_peak < HardwareConfig().max_memory_mb << 20
    assert set(res.region_memory) == {"main_region0"}


def test_memory_comes_back_after_the_error():
    # Each run stops when the engine holds 128 MiB (its output arrays grow past it: 6M values);
    # if a failed run kept what it grew, three more would add 384 MiB. The allocator keeps some
    # freed memory for reuse (tens of MiB here), hence the margin.
    x = torch.randn(2, 3_000_000)
    program = fuseflow.compile(Shifted(), (x,), fusion="full")
    hw = HardwareConfig(fifo_depth=0, max_memory_mb=128)

    def fail() -> str:
        try:
            fuseflow.simulate(program, (x,), hw=hw)
        except MemoryBudgetError as e:
            return str(e)  # the error (and the frames its traceback holds) is dropped here
        return "finished"

    assert "over its budget of 128.0 MiB" in fail()  # warm up: first-use allocations
    gc.collect()
    before = _rss_mib()
    for _ in range(3):
        assert "over its budget of 128.0 MiB" in fail()
    gc.collect()
    assert _rss_mib() - before < 64, "memory of failed runs was kept"


def test_an_allocation_the_machine_refuses_is_an_error_not_an_abort(tmp_path):
    # an address-space limit just above what the process maps makes the engine's allocations fail
    script = textwrap.dedent("""
        import resource, torch, fuseflow
        from fuseflow.sim import HardwareConfig, MemoryBudgetError

        class Shifted(torch.nn.Module):
            def forward(self, x):
                return torch.exp(x - x.amax(dim=1, keepdim=True))

        x = torch.randn(2, 2_000_000)
        program = fuseflow.compile(Shifted(), (x,), fusion="full")
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * 4096
        resource.setrlimit(resource.RLIMIT_AS, (mapped + (300 << 20), resource.RLIM_INFINITY))
        try:
            fuseflow.simulate(program, (x,), hw=HardwareConfig(fifo_depth=0, max_memory_mb=0))
            print("finished")
        except MemoryBudgetError as e:
            print("refused:", e)
        print("alive")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "terminate called" not in run.stderr
    assert "refused:" in run.stdout and "ran out of memory" in run.stdout, run.stdout
    assert run.stdout.rstrip().endswith("alive")


def test_the_cli_reports_the_budget_as_an_error(tmp_path, capsys):
    from fuseflow.cli import main

    torch.manual_seed(0)
    x = torch.randn(48, 32)
    program = fuseflow.compile(PostNormMlp().eval(), (x,), fusion="full")
    mlir = tmp_path / "mlp.mlir"
    mlir.write_text(str(program.module))
    np_x = tmp_path / "x.npy"
    import numpy as np

    np.save(np_x, x.numpy())
    assert main(["simulate", str(mlir), "--inputs", str(np_x), "--hw", "fifo_depth=0", "--hw", "max_memory_mb=1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: graph 'main_region0': simulation memory over its budget of 1.0 MiB")
    assert "internal error" not in err
    assert main(["simulate", str(mlir), "--inputs", str(np_x), "--hw", "fifo_depth=0"]) == 0
