"""Small generated models for property-based end-to-end tests: a grammar of the supported ops,
drawn with hypothesis, compiled and simulated against PyTorch eager.

A *case* is a chain of 1-4 ops on 1-D and 2-D float32 tensors (every dimension 1-8) applied to
a first input, each op reading the previous value and fresh inputs (or an earlier value of the
same shape: a residual, so fusion has a value read twice):

    matmul   x @ W, A @ x, x @ v       W, A dense or sparse; v a dense vector
    binary   x + y, x - y, x * y       y a full operand (dense or sparse), a bias row (N,), a
                                       bias column (M, 1) or an earlier value; either side first
    scale    x * c, x + c
    unary    relu, gelu, exp
    reduce   x.sum(-1), x.amax(-1), x.mean(-1)
    softmax  softmax(x.masked_fill(mask == 0, -inf), dim=-1) with a sparse mask

Sparse inputs are CSR, CSC, COO (torch layouts) or DCSR (a CSR tensor with
``sparse={"argK": "dcsr"}``), dense ones row- or column-major (``"d1:dense,d0:dense"``), with
densities from empty to full and values of mixed signs. Each case carries the compile choices it
is checked under (fusion granularity, ``layouts`` mode, default or first legal order): the model
is imported once and compiled once per choice, and each compile + simulate + check is one
*checked compilation*.

The generator follows the documented contract (docs/frontend.md, docs/lowering.md) and does not
draw what it documents as unsupported: ``exp(x)`` and ``x + c`` of a value the compiler keeps
sparse (implicit zeros would become nonzero), a reduction of a 1-D value (a 0-d result), a mask
with an empty row (PyTorch's softmax of it is NaN). Where a choice meets a limit the docs
describe (inputs stored in contradicting orders read as declared; a row max, or a reduction
made an accumulator, by a column-major operand read as declared; a non-zero-preserving use of a value iterated sparsely, such as an
accumulator's output or a row reduction over a compressed row level; a max over an
accumulator's output; a masked softmax whose
other operands are sparse along a variable), the compile may refuse it with a ``FuseflowError``
whose message gives that reason (``documented_refusal``); else it must simulate correctly.

``repro(case, choice)`` is a standalone script that rebuilds the model and its arguments and
runs the failing compile + simulate check.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from hypothesis import strategies as st

# Sparse tensors with a size-1 dimension are not lowered yet (docs/lowering.md, Expressions);
# set to True to draw them (sparse dimensions then start at 1 like dense ones).
SPARSE_UNIT_DIMS = False
MAX_DIM = 8
MAX_OPS = 4
SPARSE_FORMATS = ("csr", "csc", "coo", "dcsr")
DENSE_FORMATS = ("dense", "dense_cm")
FUSIONS = ("unfused", "layers", "full")
LAYOUTS = ("declared", "auto")
ORDERS = (None, 0)  # the cheapest estimated order, or the first legal one
VALUE_STYLES = ("normal", "integers", "positive", "negative")
DENSITIES = (0.0, 0.1, 0.3, 0.5, 0.8, 1.0)
CONSTANTS = (0.5, -1.5, 2.0, 0.25, -0.75, 3.0)
COLUMN_MAJOR = "d1:dense,d0:dense"
# formats whose stored level order is column-major (a row reduction cannot be innermost)
COLUMN_MAJOR_FORMATS = ("csc", "dense_cm")


@dataclass(frozen=True)
class Input:
    """One forward() argument: shape, format, how its values are drawn (from ``seed``)."""

    shape: tuple[int, ...]
    fmt: str  # SPARSE_FORMATS or DENSE_FORMATS
    density: float = 1.0  # fraction of entries drawn nonzero (sparse inputs)
    values: str = "normal"  # VALUE_STYLES
    seed: int = 0
    mask: bool = False  # a softmax mask: every row stores at least one entry

    @property
    def is_sparse(self) -> bool:
        return self.fmt in SPARSE_FORMATS

    def dense_values(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed)
        shape = self.shape
        if self.values == "integers":
            v = torch.randint(-3, 4, shape, generator=g).float()
        elif self.values == "positive":
            v = torch.rand(shape, generator=g) + 0.1
        elif self.values == "negative":
            v = -torch.rand(shape, generator=g) - 0.1
        else:
            v = torch.randn(shape, generator=g)
        if self.is_sparse:
            v = v * (torch.rand(shape, generator=g) < self.density)
        if self.mask:  # nonzero values; one guaranteed entry per row
            v = torch.where(v == 0, torch.zeros_like(v), torch.where(v.abs() < 0.1, 1.0, v))
            cols = torch.randint(0, shape[1], (shape[0],), generator=g)
            v[torch.arange(shape[0]), cols] = 1.0
        return v

    def tensor(self) -> torch.Tensor:
        return to_layout(self.dense_values(), self.fmt)

    def declared(self) -> str | None:
        """The ``sparse=`` entry this input needs beyond its torch layout (None: none)."""
        if self.fmt == "dcsr":
            return "dcsr"
        if self.fmt == "dense_cm":
            return COLUMN_MAJOR
        return None


def to_layout(v: torch.Tensor, fmt: str) -> torch.Tensor:
    if fmt in ("csr", "dcsr"):
        return v.to_sparse_csr()
    if fmt == "csc":
        return v.to_sparse_csc()
    if fmt == "coo":
        return v.to_sparse_coo().coalesce()
    return v


@dataclass(frozen=True)
class Op:
    text: str  # Python source, {0} {1} the operands, {c} the constant
    fn: Callable


F = torch.nn.functional
OPS: dict[str, Op] = {
    "matmul": Op("{0} @ {1}", lambda a, b, c: a @ b),
    "add": Op("{0} + {1}", lambda a, b, c: a + b),
    "sub": Op("{0} - {1}", lambda a, b, c: a - b),
    "mul": Op("{0} * {1}", lambda a, b, c: a * b),
    "scale": Op("{0} * {c}", lambda a, c: a * c),
    "shift": Op("{0} + {c}", lambda a, c: a + c),
    "relu": Op("torch.relu({0})", lambda a, c: torch.relu(a)),
    "gelu": Op("torch.nn.functional.gelu({0})", lambda a, c: F.gelu(a)),
    "exp": Op("torch.exp({0})", lambda a, c: torch.exp(a)),
    "sum": Op("{0}.sum(-1)", lambda a, c: a.sum(-1)),
    "max": Op("{0}.amax(-1)", lambda a, c: a.amax(-1)),
    "mean": Op("{0}.mean(-1)", lambda a, c: a.mean(-1)),
    "masked_softmax": Op("torch.softmax({0}.masked_fill({1} == 0, float('-inf')), dim=-1)",
                         lambda a, m, c: torch.softmax(a.masked_fill(m == 0, float("-inf")), dim=-1)),
}


@dataclass(frozen=True)
class Step:
    """``v<k> = OPS[op](*operands, const)``; operands name inputs (``argK``) or values (``vK``)."""

    op: str
    operands: tuple[str, ...]
    const: float = 0.0

    def source(self) -> str:
        return OPS[self.op].text.format(*self.operands, c=repr(self.const))


@dataclass(frozen=True)
class Choice:
    """The compile options one checked compilation uses."""

    fusion: str = "unfused"
    layouts: str = "declared"
    order: int | None = None

    def kwargs(self) -> dict:
        return {"fusion": self.fusion, "layouts": self.layouts, "order": self.order}

    def label(self) -> str:
        return f"{self.fusion}/{self.layouts}/{'best' if self.order is None else self.order}"


@dataclass(frozen=True)
class Case:
    inputs: tuple[Input, ...]
    steps: tuple[Step, ...]
    choices: tuple[Choice, ...]
    # per step: the format the compiler keeps the value in (None: dense), per the docs
    formats: tuple[str | None, ...] = ()

    def args(self) -> tuple[torch.Tensor, ...]:
        return tuple(i.tensor() for i in self.inputs)

    def sparse(self) -> dict[str, str]:
        return {f"arg{k}": i.declared() for k, i in enumerate(self.inputs) if i.declared()}

    def model(self) -> torch.nn.Module:
        return GeneratedModel(self.steps)

    def ops(self) -> list[str]:
        return [s.op for s in self.steps]

    def source(self) -> str:
        params = ", ".join(f"arg{k}" for k in range(len(self.inputs)))
        lines = ["class Model(torch.nn.Module):", f"    def forward(self, {params}):"]
        lines += [f"        v{k} = {s.source()}" for k, s in enumerate(self.steps)]
        lines.append(f"        return v{len(self.steps) - 1}")
        return "\n".join(lines)

    def prefix(self, n: int) -> Case:
        """The case cut after its first ``n`` steps (the inputs it no longer reads stay, unused
        arguments are fine), for shrinking a failure."""
        return dataclasses.replace(self, steps=self.steps[:n], formats=self.formats[:n])


class GeneratedModel(torch.nn.Module):
    """Runs a case's steps (the same ops its ``source()`` prints)."""

    def __init__(self, steps: tuple[Step, ...]):
        super().__init__()
        self.steps = steps
        self.fns = [OPS[s.op].fn for s in steps]

    def forward(self, *args):
        env = {f"arg{k}": a for k, a in enumerate(args)}
        for k, (step, fn) in enumerate(zip(self.steps, self.fns, strict=True)):
            env[f"v{k}"] = fn(*(env[o] for o in step.operands), step.const)
        return env[f"v{len(self.steps) - 1}"]


# -- the grammar ----------------------------------------------------------------------------------
@dataclass
class _Value:
    name: str
    shape: tuple[int, ...]
    fmt: str | None  # the compiler's storage format of the value (None: dense)


class _Builder:
    def __init__(self, draw):
        self.draw = draw
        self.inputs: list[Input] = []
        self.values: list[_Value] = []
        self.steps: list[Step] = []

    def dim(self, sparse: bool = False) -> int:
        return self.draw(st.integers(2 if sparse and not SPARSE_UNIT_DIMS else 1, MAX_DIM))

    def can_be_sparse(self, shape) -> bool:
        return len(shape) == 2 and (SPARSE_UNIT_DIMS or min(shape) >= 2)

    def new_input(self, shape, *, sparse: bool | None = None, mask: bool = False) -> _Value:
        """A fresh argument of ``shape``: sparse when asked (or drawn, where it may be)."""
        draw = self.draw
        if sparse is None:
            sparse = draw(st.booleans())
        sparse = sparse and self.can_be_sparse(shape)
        if sparse:
            fmt = draw(st.sampled_from(SPARSE_FORMATS))
            density = draw(st.sampled_from(DENSITIES) | st.floats(0.0, 1.0))
        else:
            fmt = draw(st.sampled_from(DENSE_FORMATS)) if len(shape) == 2 else "dense"
            density = 1.0
        inp = Input(tuple(shape), fmt, density, draw(st.sampled_from(VALUE_STYLES)), draw(st.integers(0, 2**31 - 1)),
                    mask)
        self.inputs.append(inp)
        return _Value(f"arg{len(self.inputs) - 1}", inp.shape, fmt if sparse else None)

    def emit(self, op: str, operands: list[_Value], fmt: str | None, shape, const: float = 0.0) -> _Value:
        self.steps.append(Step(op, tuple(v.name for v in operands), const))
        v = _Value(f"v{len(self.steps) - 1}", tuple(shape), fmt)
        self.values.append(v)
        return v


def _operand_format(a: _Value, b: _Value, op: str, shape) -> str | None:
    """The propagated format of a binary elementwise result (docs/frontend.md, Sparsity
    propagation): a sparse operand read through the identity map whose body is zero-preserving
    in it gives its format, the first such operand in operand order; sums need every term
    sparse; broadcast operands are never the one propagated."""
    full = [v for v in (a, b) if v.fmt is not None and v.shape == shape]
    if op == "mul":
        return full[0].fmt if full else None
    if a.fmt is not None and b.fmt is not None and a.shape == b.shape:
        return a.fmt
    return None


def _step(b: _Builder, x: _Value) -> _Value:
    """One op on the current value ``x``."""
    draw = b.draw
    two_d = len(x.shape) == 2
    kinds = ["matmul", "binary", "binary", "scale", "unary", "unary"]
    if two_d:
        kinds += ["reduce", "softmax"]
    if two_d and not b.can_be_sparse(x.shape):  # the mask has x's shape and is sparse
        kinds.remove("softmax")
    kind = draw(st.sampled_from(kinds))
    if kind == "matmul":
        if not two_d:  # x @ W
            w = b.new_input((x.shape[0], b.dim()))
            return b.emit("matmul", [x, w], None, (w.shape[1],))
        side = draw(st.sampled_from(["right", "left", "vector"]))
        if side == "right":
            n = x.shape[1]
            sparse = draw(st.booleans()) and b.can_be_sparse((n, n))
            w = b.new_input((n, b.dim(sparse)), sparse=sparse)
            return b.emit("matmul", [x, w], None, (x.shape[0], w.shape[1]))
        if side == "left":
            m = x.shape[0]
            sparse = draw(st.booleans()) and b.can_be_sparse((m, m))
            a = b.new_input((b.dim(sparse), m), sparse=sparse)
            return b.emit("matmul", [a, x], None, (a.shape[0], x.shape[1]))
        v = b.new_input((x.shape[1],))
        return b.emit("matmul", [x, v], None, (x.shape[0],))
    if kind == "binary":
        op = draw(st.sampled_from(["add", "sub", "mul"]))
        earlier = [v for v in b.values[:-1] if v.shape == x.shape]
        forms = ["full", "full"] + (["row", "column"] if two_d else []) + (["earlier"] if earlier else [])
        form = draw(st.sampled_from(forms))
        if form == "earlier":
            y = draw(st.sampled_from(earlier))
        elif form == "row":
            y = b.new_input((x.shape[1],))
        elif form == "column":
            y = b.new_input((x.shape[0], 1))
        else:
            y = b.new_input(x.shape)
        a, c = (x, y) if draw(st.booleans()) else (y, x)
        return b.emit(op, [a, c], _operand_format(a, c, op, x.shape), x.shape)
    if kind == "scale":
        op = "scale" if x.fmt is not None else draw(st.sampled_from(["scale", "shift"]))
        return b.emit(op, [x], x.fmt, x.shape, draw(st.sampled_from(CONSTANTS)))
    if kind == "unary":
        # exp of a sparse value would make its implicit zeros nonzero: documented as refused
        op = draw(st.sampled_from(["relu", "gelu"] if x.fmt is not None else ["relu", "gelu", "exp"]))
        return b.emit(op, [x], x.fmt, x.shape)
    if kind == "reduce":
        op = draw(st.sampled_from(["sum", "max", "mean"]))
        return b.emit(op, [x], None, (x.shape[0],))
    mask = b.new_input(x.shape, sparse=True, mask=True)
    return b.emit("masked_softmax", [x, mask], mask.fmt, x.shape)


@st.composite
def choices(draw, min_choices: int = 1, max_choices: int = 3) -> tuple[Choice, ...]:
    """``min_choices`` to ``max_choices`` distinct compile choices."""
    one = st.builds(Choice, st.sampled_from(FUSIONS), st.sampled_from(LAYOUTS), st.sampled_from(ORDERS))
    return tuple(draw(st.lists(one, min_size=min_choices, max_size=max_choices, unique=True)))


@st.composite
def cases(draw, max_ops: int = MAX_OPS, min_choices: int = 1, max_choices: int = 3) -> Case:
    """A generated model, its inputs and the compile choices to check it under."""
    b = _Builder(draw)
    first_sparse = draw(st.booleans())
    x = b.new_input((b.dim(first_sparse), b.dim(first_sparse)), sparse=first_sparse)
    for _ in range(draw(st.integers(1, max_ops))):
        x = _step(b, x)
    return Case(tuple(b.inputs), tuple(b.steps), draw(choices(min_choices, max_choices)), tuple(v.fmt for v in b.values))


# -- documented limitations ------------------------------------------------------------------------
_STORAGE = re.compile(r"storage orders ([a-z<, ]+)\)")


def _cyclic(text: str) -> bool:
    """Whether the ``a<b, ...`` precedences of an InfeasibleOrder message contradict each other."""
    match = _STORAGE.search(text)
    if not match:
        return False
    after: dict[str, set[str]] = {}
    for pair in match.group(1).split(","):
        if "<" in pair:
            a, b = (p.strip() for p in pair.split("<"))
            after.setdefault(a, set()).add(b)

    def reaches(a: str, target: str, seen: set[str]) -> bool:
        return any(b == target or (b not in seen and reaches(b, target, seen | {b})) for b in after.get(a, ()))

    return any(reaches(a, a, {a}) for a in after)


def documented_refusal(case: Case, choice: Choice, error: Exception) -> str | None:
    """The documented limitation ``error`` (a ``FuseflowError`` from compiling ``case`` under
    ``choice``) stands for, or None when the refusal is not documented (a failure)."""
    from fuseflow.errors import InfeasibleOrder, LoweringError

    text = str(error)
    column_major = any(i.fmt in COLUMN_MAJOR_FORMATS for i in case.inputs)
    declared = choice.layouts == "declared"
    if declared and column_major and isinstance(error, InfeasibleOrder) and _cyclic(text):
        return "inputs stored in contradicting level orders read as declared leave no legal order"
    if declared and column_major and isinstance(error, InfeasibleOrder) and "storage orders" in text:
        # a column-major operand read as declared puts a reduction before the loops after it: an
        # accumulator, whose limits (docs/lowering.md, Orders) can leave no order
        return "a column-major operand read as declared makes a reduction an accumulator no order can place"
    maxes = any(op in ("max", "masked_softmax") for op in case.ops())
    if declared and column_major and maxes and isinstance(error, (InfeasibleOrder, LoweringError)) \
            and ("storage orders" in text or "'max'" in text):
        return "a max reduction must be innermost; a column-major operand read as declared puts the row loop inside"
    refused = isinstance(error, (InfeasibleOrder, LoweringError))
    # a contraction whose reduction is not innermost is an accumulator: its output never covers
    # a whole dimension, so a max over it (which must see zeros) or a dense use of it is refused
    accumulated = "matmul" in case.ops()
    if refused and accumulated and "would ignore the implicit zeros" in text:
        return "a max over an accumulator's output (which never covers a whole dimension) is refused"
    if refused and any(i.is_sparse for i in case.inputs) and "would ignore the implicit zeros" in text:
        return "a max over a value computed sparse in the same region (a sum of sparse operands) is refused"
    sparse_or_accumulated = accumulated or any(i.is_sparse or i.fmt in COLUMN_MAJOR_FORMATS for i in case.inputs)
    dense_use = "would make every implicit zero nonzero" in text or ("broadcast along" in text and "is dense along" in text)
    if sparse_or_accumulated and dense_use and refused:
        return ("a non-zero-preserving use of a value iterated sparsely (a sparse level, a compressed row level "
                "or an accumulator's output) is refused")
    sparse_softmax = any(s.op == "masked_softmax" and (case.formats[k] in ("coo", "dcsr") or _is_sparse(case, s.operands[0]))
                         for k, s in enumerate(case.steps))
    if refused and "masked_softmax" in case.ops() and "sampling them would drop the mask's entries" in text:
        return "a masked softmax over scores an order iterates sparse along the masked dimension is refused in it"
    if refused and "masked_softmax" in case.ops() and "where it stores nothing, and it is not 0 there" in text:
        return "a masked softmax joined in a union where it stores nothing, not built once as a value, is refused"
    if sparse_softmax and refused and "sparse along" in text:
        return "a stored_ map whose other operands are sparse along a variable is rejected"
    from fuseflow.errors import UnsupportedOp

    if sparse_softmax and isinstance(error, UnsupportedOp) and "non-empty left or right region" in text:
        # docs/lowering.md: where the mask stores an entry sparse scores do not, the score is an
        # implicit 0 that the stored-entries softmax must keep; the lowering refuses that sample
        return "a masked softmax over sparse scores is refused (their implicit zeros under the mask)"
    return None


def _is_sparse(case: Case, name: str) -> bool:
    if name.startswith("arg"):
        return case.inputs[int(name[3:])].is_sparse
    return case.formats[int(name[1:])] is not None


# -- checking --------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """One checked compilation: ``status`` is ok, refused (a documented limitation, refused with
    a FuseflowError), mismatch or error; ``message`` says what went wrong."""

    choice: Choice
    status: str
    message: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in ("mismatch", "error")


def check_case(case: Case, reference: Callable | None = None) -> list[Outcome]:
    """Import ``case``'s model once, then compile, simulate and check it under each of its
    choices (``fuseflow.simulate(..., check=True)``: PyTorch eager at the output dtype's
    tolerances). ``reference`` replaces the model PyTorch runs for the check (to show a wrong
    reference fails)."""
    import fuseflow
    from fuseflow.compiler import CompileOptions, compile_imported
    from fuseflow.context import make_context, parse_module
    from fuseflow.errors import FuseflowError
    from fuseflow.sim import SimulationMismatch

    args, model = case.args(), case.model()
    t0 = time.perf_counter()
    try:
        imported = fuseflow.import_model(model, args, sparse=case.sparse())
        text = str(imported)
    except Exception as e:  # noqa: BLE001  (every failure is reported with its repro)
        return [Outcome(c, "error", f"import: {type(e).__name__}: {e}", time.perf_counter() - t0)
                for c in case.choices]
    outcomes = []
    for choice in case.choices:
        t1 = time.perf_counter()
        try:
            fresh = dataclasses.replace(imported, module=parse_module(text, make_context()))
            options = CompileOptions.make(**choice.kwargs())
            prog = compile_imported(fresh, options, model=reference or model, example_args=args)
            fuseflow.simulate(prog, args, check=True)
            status, message = "ok", ""
        except SimulationMismatch as e:
            status, message = "mismatch", str(e)
        except FuseflowError as e:
            reason = documented_refusal(case, choice, e)
            status, message = ("refused", reason) if reason else ("error", f"{type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001
            status, message = "error", f"{type(e).__name__}: {e}"
        outcomes.append(Outcome(choice, status, message, time.perf_counter() - t1))
    return outcomes


def repro(case: Case, choice: Choice) -> str:
    """A standalone script reproducing one checked compilation (the model's source, its
    arguments as literals, the compile call)."""
    lines = ["import torch", "", "import fuseflow", "", "", case.source(), "", "", "args = ("]
    for inp in case.inputs:
        values = inp.dense_values().tolist()
        layout = {"csr": ".to_sparse_csr()", "dcsr": ".to_sparse_csr()", "csc": ".to_sparse_csc()",
                  "coo": ".to_sparse_coo().coalesce()"}.get(inp.fmt, "")
        lines.append(f"    torch.tensor({values!r}, dtype=torch.float32){layout},")
    lines += [")", f"prog = fuseflow.compile(Model(), args, sparse={case.sparse()!r}, fusion={choice.fusion!r},",
              f"                        layouts={choice.layouts!r}, order={choice.order!r})",
              "res = fuseflow.simulate(prog, args, check=True)",
              "print('ok', res.cycles)", ""]
    return "\n".join(lines)


def shrink(case: Case, outcome: Outcome) -> tuple[Case, Outcome]:
    """The shortest prefix of ``case`` that still fails ``outcome``'s choice with its status,
    and that failure."""
    for n in range(1, len(case.steps)):
        smaller = dataclasses.replace(case.prefix(n), choices=(outcome.choice,))
        (again,) = check_case(smaller)
        if again.status == outcome.status:
            return smaller, again
    return dataclasses.replace(case, choices=(outcome.choice,)), outcome
