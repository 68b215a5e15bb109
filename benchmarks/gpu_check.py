"""The GPU check at the path the project's instructions name; it lives in the package.

Same as ``python -m livematte.gpu_check`` (see that module for its options).
"""

import sys

from livematte.gpu_check import main

sys.exit(main())
