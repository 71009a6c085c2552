import sys

from corpus.migrations import _main

sys.exit(_main())
