"""``python -m dataset``: the same as ``python -m dataset.mnist`` (fetch, verify and cache MNIST)."""

import sys

from dataset.mnist import main

sys.exit(main())
