"""HEBO behind a pipe, for ``bench/tuner_peers.py``.

HEBO 0.3.x requires numpy < 1.25, which this project's own environment (numpy 2) cannot hold,
so the benchmark runs it in an environment of its own (``make hebo-env``:
``.venv-hebo`` from ``bench/requirements-hebo.txt``) and talks to it through this script, one
JSON object per line:

    -> {"spec": [HEBO design-space entries], "seed": s, "rand_sample": n}
    <- {"ready": true}
    -> {"cmd": "suggest"}                    <- {"row": {name: value}, "seconds": t}
    -> {"cmd": "observe", "row": {...}, "y": v}   <- {"ok": true}
    -> {"cmd": "exit"}

Only HEBO's own work happens here (its defaults: GP model, MACE acquisition, NSGA-II); the
benchmark process decodes, repairs and evaluates the points. Errors are answered as
``{"error": "..."}`` and end the worker.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

# The answers go to the original stdout; anything HEBO or its libraries print (GPy's jitter
# messages, pymoo's notices) goes to stderr, which the benchmark discards.
_OUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr


def _answer(obj) -> None:
    _OUT.write(json.dumps(obj) + "\n")
    _OUT.flush()


def _plain(v):
    """numpy scalars as JSON values."""
    return v.item() if hasattr(v, "item") else v


def main() -> int:
    warnings.simplefilter("ignore")
    try:
        import numpy as np
        import pandas as pd
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO
    except ImportError as e:
        _answer({"error": f"HEBO is not importable in {sys.executable}: {e}"})
        return 1
    first = json.loads(sys.stdin.readline())
    np.random.seed(first["seed"])
    opt = HEBO(DesignSpace().parse(first["spec"]), rand_sample=first["rand_sample"],
               scramble_seed=first["seed"])
    _answer({"ready": True})
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg.get("cmd")
        if cmd == "exit":
            return 0
        try:
            if cmd == "suggest":
                t0 = time.perf_counter()
                rec = opt.suggest(n_suggestions=1)
                dt = time.perf_counter() - t0
                _answer({"row": {k: _plain(v) for k, v in rec.iloc[0].to_dict().items()},
                         "seconds": dt})
            elif cmd == "observe":
                opt.observe(pd.DataFrame([msg["row"]]), np.array([[msg["y"]]]))
                _answer({"ok": True})
            else:
                _answer({"error": f"unknown command {cmd!r}"})
                return 1
        except Exception as e:  # reported to the benchmark, which stops with the message
            _answer({"error": f"{type(e).__name__}: {e}"})
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
