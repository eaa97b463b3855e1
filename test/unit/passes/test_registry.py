import pytest

from fuseflow.bindings import PassManager, captured_native_stderr
from fuseflow.context import make_context
from fuseflow.passes import ModulePass, fuseflow_passes, register, upstream_passes
from fuseflow.passes.registry import close_matches


def test_builtin_passes_are_registered_with_docs():
    passes = fuseflow_passes()
    assert {"fuseflow-fold-sparse-casts", "fuseflow-fold-transposes"} <= set(passes)
    for name, cls in passes.items():
        if not cls.__module__.startswith("fuseflow.passes."):
            continue  # test helpers registered by other tests
        assert name == cls.name and name == name.lower()
        assert cls.summary(), name
        assert cls.__name__.endswith("Pass"), cls.__name__


def test_register_rejects_bad_passes():
    class NoDoc(ModulePass):
        name = "test-no-doc"

    with pytest.raises(TypeError, match="docstring"):
        register(NoDoc)

    class Clash(ModulePass):
        """Takes a name that is already used."""

        name = "fuseflow-fold-transposes"

    with pytest.raises(TypeError, match="already taken"):
        register(Clash)


def test_upstream_catalogue_matches_the_bindings():
    """Every catalogued upstream pass parses in this build, with the catalogued anchor (drift test)."""
    catalogue = upstream_passes()
    assert len(catalogue) > 300
    for must in ("canonicalize", "cse", "sparse-assembler", "sparsification-and-bufferization",
                 "linalg-generalize-named-ops", "sparsifier", "symbol-dce"):
        assert must in catalogue
    ctx = make_context()
    with captured_native_stderr():
        for p in catalogue.values():
            PassManager.parse(f"{p.anchor}({p.name})", ctx)


def test_close_matches_cover_both_kinds():
    assert "canonicalize" in close_matches("canonicalise")
    assert "fuseflow-fold-sparse-casts" in close_matches("fuseflow-fold-sparse-cast")
