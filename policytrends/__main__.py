"""``python -m policytrends``: the same command line as ``policytrends``."""

import sys

from policytrends.cli import main

sys.exit(main())
