"""`python -m zoo` (and `torchrun -m zoo`) runs the CLI."""
import sys

from zoo_core.cli import main

sys.exit(main())
