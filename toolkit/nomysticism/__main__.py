"""``python -m nomysticism``: the same as the ``nomysticism`` command."""

import sys

from .cli import main

sys.exit(main())
