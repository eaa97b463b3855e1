# ruff: noqa: F821  (lit injects `config`)
# lit configuration for fuseflow's IR tests. Run with: lit -sv test/lit
import os
import sys

import lit.formats

config.name = "fuseflow"
config.test_format = lit.formats.ShTest()  # lit's internal shell (pipes and `not` work)
config.suffixes = [".mlir", ".py"]
config.excludes = ["lit.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "Output")

python = sys.executable
config.environment["PYTHONWARNINGS"] = "ignore"
for var in ("HOME", "TMPDIR", "FUSEFLOW_REPRO_DIR"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# %-prefixed substitutions cannot clash with paths or CHECK text that mention the tool names.
config.substitutions.append(("%fuseflow-opt", f"{python} -m fuseflow.tools.opt"))
config.substitutions.append(("%fuseflow", f"{python} -m fuseflow"))
config.substitutions.append(("%python", python))
config.substitutions.append(("%FileCheck", f"{python} -m filecheck"))
config.substitutions.append(("%not", f"{python} -m fuseflow.tools.not_"))
