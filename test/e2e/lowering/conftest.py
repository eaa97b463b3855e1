import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the kernels module next to the tests
