"""``python -m runner``: see runner.main."""

import sys

from runner.main import main

sys.exit(main())
