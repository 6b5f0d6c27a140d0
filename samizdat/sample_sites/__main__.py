"""python -m samizdat.sample_sites [--log FILE] [--campaign ...] [--control-port-file FILE]
[--withhold SITE:PATH ...]: serve the sample sites until killed (see server.main)."""

import sys

from samizdat.sample_sites.server import main

sys.exit(main())
