"""``python -m invasim`` runs the command line."""

import sys

from invasim.cli import main

sys.exit(main())
