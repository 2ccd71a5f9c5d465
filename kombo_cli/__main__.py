"""`python -m kombo_cli` runs the same entry point as the `kombo` script."""

import sys

from kombo_cli.main import main

sys.exit(main())
