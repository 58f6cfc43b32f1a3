"""`python -m production_fastapi` runs the same CLI as the console script."""

import sys

from production_fastapi.cli import main

sys.exit(main())
