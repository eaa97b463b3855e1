"""fuseflow's passes: the pass base class, the registry and the pipeline runner.

Scripting::

    from fuseflow import passes
    passes.run_pipeline(module, "builtin.module(fuseflow-fold-sparse-casts,canonicalize)")
    passes.fuseflow_passes()          # name -> pass class
    passes.Pipeline.parse(text)       # inspect or build a pipeline
"""

from fuseflow.passes.pass_base import ModulePass, Option, OptionError, PassFailure
from fuseflow.passes.pipeline import Pipeline, run_pipeline
from fuseflow.passes.registry import fuseflow_passes, get_pass, register, upstream_passes

__all__ = [
    "ModulePass",
    "Option",
    "OptionError",
    "PassFailure",
    "Pipeline",
    "fuseflow_passes",
    "get_pass",
    "register",
    "run_pipeline",
    "upstream_passes",
]
