"""Generated models, the long run: many small models drawn from the grammar of supported ops
(test/e2e/lowering/model_grammar.py), each compiled under several fusion / layouts / order
choices, simulated and checked against PyTorch eager.

    .venv/bin/python bench/generated_models.py --cases 10000 --workers 2 --seed 0
    .venv/bin/python bench/generated_models.py --cases 200 --workers 1 --repro-dir /tmp/repros

A *case* is one compile + simulate + check of one model under one choice; a model is imported
once and compiled for 4 to 8 choices (``--choices``). The run is cut into chunks of ``--chunk``
cases, each drawn by hypothesis from its own seed (``--seed`` and the chunk number: a run is
reproducible whatever ``--workers``), each in a fresh worker process (spawn). SIGTERM or Ctrl-C
stops the workers and reports the cases that ran. It prints
progress and cases per second, then a table of cases by op, fusion, layouts, order and input
format, the counts of refusals the docs describe, mismatches and errors, and a standalone
repro script (the model's source, its arguments, the compile call; shortened to the fewest ops
that still fail) for each distinct failure. Exits 1 on any mismatch or unexpected exception.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import queue
import re
import signal
import sys
import time
import warnings
from collections import Counter, defaultdict
from multiprocessing import get_context
from pathlib import Path

GRAMMAR = Path(__file__).resolve().parent.parent / "test" / "e2e" / "lowering" / "model_grammar.py"
SHRUNK_PER_CHUNK = 3  # failures per chunk shortened to their fewest failing ops (each costs compiles)


def load_grammar():
    """The generator module, shared with the pytest suite (it lives next to its test)."""
    if "model_grammar" in sys.modules:
        return sys.modules["model_grammar"]
    spec = importlib.util.spec_from_file_location("model_grammar", GRAMMAR)
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_grammar"] = module  # pickled cases refer to it by name
    spec.loader.exec_module(module)
    return module


def run_chunk(seed: int, chunk: int, n_cases: int, min_choices: int, max_choices: int, progress) -> None:
    """Draw and check models until ``n_cases`` cases are done; one record per case goes to
    ``progress``: (chunk, ops, fusion, layouts, order, input formats, status, message, repro)."""
    warnings.filterwarnings("ignore")
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    mg = load_grammar()
    done, attempt, shrunk = 0, 0, 0

    def check(case) -> None:
        nonlocal done, shrunk
        if done >= n_cases:
            return
        case = dataclasses.replace(case, choices=case.choices[: n_cases - done])
        for outcome in mg.check_case(case):
            choice, text, message = outcome.choice, "", outcome.message
            if outcome.failed:
                small = case
                if shrunk < SHRUNK_PER_CHUNK:
                    small, again = mg.shrink(case, outcome)
                    message = again.message
                    shrunk += 1
                text = mg.repro(small, choice)
            formats = tuple(sorted({i.fmt for i in case.inputs}))
            progress.put((chunk, tuple(case.ops()), choice.fusion, choice.layouts, str(choice.order), formats,
                          outcome.status, message, text))
            done += 1

    while done < n_cases:
        strategy = mg.cases(min_choices=min_choices, max_choices=max_choices)
        run = settings(max_examples=n_cases, database=None, deadline=None, phases=[Phase.generate],
                       suppress_health_check=list(HealthCheck))(given(strategy)(check))
        hypothesis_seed(seed * 1_000_003 + chunk * 101 + attempt)(run)()
        attempt += 1


def signature(status: str, message: str, repro: str) -> str:
    """A failure's kind: its status, the ops of its (shortened) model and, for an error, the
    first line of the message, with numbers and locations blanked."""
    ops = re.findall(r"^        v\d+ = (.*)$", repro, re.MULTILINE)
    model = "; ".join(re.sub(r"\b(arg|v)\d+\b", "x", op) for op in ops)
    first = message.splitlines()[0] if message and status == "error" else ""
    first = re.sub(r"\d+(\.\d+)?", "N", re.sub(r"loc\([^)]*\)", "loc", first))[:160]
    return f"{status}: {model}" + (f" -> {first}" if first else "")


def table(records: list[tuple]) -> list[str]:
    by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for _, ops, fusion, layouts, order, formats, status, *_ in records:
        keys = [("op", op) for op in set(ops)] + [("ops", str(len(ops))), ("fusion", fusion), ("layouts", layouts),
                                                  ("order", order)]
        keys += [("format", f) for f in formats]
        for key in keys:
            by[key][status] += 1
    lines = [f"{'':8s} {'':16s} {'cases':>7s} {'ok':>7s} {'refused':>7s} {'mismatch':>8s} {'error':>6s}"]
    for (kind, value), c in sorted(by.items()):
        lines.append(f"{kind:8s} {value:16s} {sum(c.values()):7d} {c['ok']:7d} {c['refused']:7d} {c['mismatch']:8d} "
                     f"{c['error']:6d}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000, help="checked compilations to run (default 1000)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed of the run (default 0)")
    ap.add_argument("--chunk", type=int, default=500, help="cases per worker process (default 500)")
    ap.add_argument("--choices", type=int, nargs=2, default=(4, 8), metavar=("MIN", "MAX"),
                    help="compile choices per generated model (default 4 8: the import is shared)")
    ap.add_argument("--repro-dir", type=Path, help="write every failing case's repro script here")
    ap.add_argument("--show", type=int, default=5, help="distinct failures to print with their repro (default 5)")
    args = ap.parse_args(argv)
    if args.cases < 1 or args.workers < 1 or args.chunk < 1 or not 1 <= args.choices[0] <= args.choices[1]:
        ap.error("--cases, --workers and --chunk must be positive and --choices MIN <= MAX, both >= 1")
    if args.repro_dir is not None:
        args.repro_dir.mkdir(parents=True, exist_ok=True)

    ctx = get_context("spawn")
    progress = ctx.Queue()
    sizes = [min(args.chunk, args.cases - start) for start in range(0, args.cases, args.chunk)]
    print(f"generated models: {args.cases} cases in {len(sizes)} chunks of up to {args.chunk}, "
          f"{args.workers} workers, seed {args.seed}, {args.choices[0]}-{args.choices[1]} choices per model",
          flush=True)
    stop = []  # SIGTERM (e.g. from `timeout`) or Ctrl-C: stop the workers, report what ran
    signal.signal(signal.SIGTERM, lambda *_: stop.append("terminated"))
    signal.signal(signal.SIGINT, lambda *_: stop.append("interrupted"))
    records: list[tuple] = []
    crashed: list[str] = []
    pending = list(enumerate(sizes))
    running: dict[int, object] = {}
    t0 = last = time.perf_counter()
    while (pending or running) and not stop:
        while pending and len(running) < args.workers:
            k, n = pending.pop(0)
            running[k] = ctx.Process(target=run_chunk, args=(args.seed, k, n, args.choices[0], args.choices[1], progress))
            running[k].start()
        batch: list[tuple] = []
        with contextlib.suppress(queue.Empty):
            batch.append(progress.get(timeout=1.0))
            while len(batch) < 1000:
                batch.append(progress.get_nowait())
        for record in batch:
            records.append(record)
            if record[6] in ("mismatch", "error") and args.repro_dir is not None:
                head = record[7].splitlines()[0] if record[7] else ""
                (args.repro_dir / f"repro_{len(records):05d}.py").write_text(f"# {record[6]}: {head}\n{record[8]}")
        for k, proc in list(running.items()):
            if proc.exitcode is not None:
                if proc.exitcode != 0 and not stop:
                    crashed.append(f"chunk {k}: worker exited with {proc.exitcode}")
                del running[k]
        now = time.perf_counter()
        if now - last >= 30 or not (pending or running):
            status = Counter(r[6] for r in records)
            rate = len(records) / (now - t0)
            eta = (args.cases - len(records)) / rate if rate else float("inf")
            print(f"[{now - t0:6.0f}s] {len(records)}/{args.cases} cases, {rate:.2f} cases/s, ok {status['ok']}, "
                  f"refused {status['refused']}, mismatches {status['mismatch']}, errors {status['error']}, "
                  f"eta {eta:.0f}s", flush=True)
            last = now
    for proc in running.values():
        proc.terminate()
    if stop:
        print(f"{stop[0]}: stopped after {len(records)} of {args.cases} cases", flush=True)
    wall = time.perf_counter() - t0

    status = Counter(r[6] for r in records)
    print()
    print("\n".join(table(records)))
    refusals = Counter(r[7] for r in records if r[6] == "refused")
    if refusals:
        print("\nrefused as documented:")
        for reason, n in refusals.most_common():
            print(f"  {n:6d}  {reason}")
    failures = [r for r in records if r[6] in ("mismatch", "error")]
    kinds: dict[str, list[tuple]] = defaultdict(list)
    for r in failures:
        kinds[signature(r[6], r[7], r[8])].append(r)
    if kinds:
        print(f"\n{len(failures)} failing cases, {len(kinds)} distinct:")
        for kind, rs in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(rs):6d}  {kind}")
    for n, (kind, rs) in enumerate(sorted(kinds.items(), key=lambda kv: -len(kv[1]))[: args.show]):
        shortest = min(rs, key=lambda r: (len(r[8]), r[0]))
        print(f"\n--- failure {n + 1}: {kind}\n{shortest[7]}\n--- repro (chunk {shortest[0]}):\n{shortest[8]}")
    for line in crashed:
        print(line)
    print(f"\n{len(records)} cases in {wall:.0f}s ({len(records) / wall:.2f} cases/s): ok {status['ok']}, "
          f"refused as documented {status['refused']}, mismatches {status['mismatch']}, errors {status['error']}")
    bad = status["mismatch"] + status["error"] + len(crashed) + (len(records) < args.cases)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
