"""python -m samizdat.sample_sites [--log FILE]: serve the sample sites until killed."""

import sys

from samizdat.sample_sites.server import main

sys.exit(main())
