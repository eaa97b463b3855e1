"""``python -m fuseflow.tools.not_ CMD...``: run CMD and invert success, like LLVM's `not`,
but also fail when CMD crashed (exit code >= 2 or a signal): a test that expects a clean
user-error exit (1) must not pass on a traceback or an abort."""

import subprocess
import sys

code = subprocess.call(sys.argv[1:])
sys.exit(0 if code == 1 else 1)
