"""``fuseflow.limits.memory_cap``: long runs cap their address space at a share of the machine;
past it an allocation is a MemoryError in that process, not the machine's memory gone."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

from fuseflow.limits import machine_memory, memory_cap


def test_the_cap_is_a_share_of_the_machine_and_is_restored():
    before = resource.getrlimit(resource.RLIMIT_AS)
    total = machine_memory()
    assert total > 0
    with memory_cap(processes=2, share=0.5) as cap:
        assert resource.getrlimit(resource.RLIMIT_AS)[0] == cap
        want = int(total * 0.5 / 2)
        assert cap == (want if before[0] == resource.RLIM_INFINITY else min(want, before[0]))
    assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_a_lower_limit_set_before_is_kept():
    script = textwrap.dedent("""
        import resource
        from fuseflow.limits import memory_cap
        low = 64 << 30
        resource.setrlimit(resource.RLIMIT_AS, (low, resource.RLIM_INFINITY))
        with memory_cap(share=10.0) as cap:  # asks for more than the machine: the lower limit stays
            print(cap == low, resource.getrlimit(resource.RLIMIT_AS)[0] == low)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["True", "True"], run.stderr


def test_an_allocation_past_the_cap_is_a_memory_error_in_that_process():
    # the child asks for more than its cap allows; it gets a MemoryError and goes on
    script = textwrap.dedent("""
        import numpy as np
        from fuseflow.limits import machine_memory, memory_cap
        with memory_cap(share=0.25):
            try:
                np.ones(int(machine_memory() * 0.3) // 8)
                print("allocated")
            except MemoryError:
                print("refused")
        print("alive")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["refused", "alive"]
