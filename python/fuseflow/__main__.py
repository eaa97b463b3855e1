import sys

from fuseflow.cli import main

sys.exit(main())
