"""``python -m nomysticism.cli``: the same as the ``nomysticism`` command."""

import sys

from . import main

sys.exit(main())
