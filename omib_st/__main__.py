"""``python -m omib_st`` is ``omib-st``."""

import sys

from omib_st.cli import main

sys.exit(main())
