"""Run the command line as ``python -m acctlib``, like the ``acctlib`` script."""

import sys

from acctlib.cli import main

sys.exit(main())
