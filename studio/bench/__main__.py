"""``python -m studio.bench``: the same as ``layerloom bench``."""

import sys

from studio.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
