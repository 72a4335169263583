"""``python -m blender_gen``: see :mod:`blender_gen.cli`."""

import sys

from blender_gen.cli import main

sys.exit(main())
