import sys

from policytrends.corpus.migrations import _main

sys.exit(_main())
