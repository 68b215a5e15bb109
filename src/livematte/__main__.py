import sys

from .launch import main

# Guarded: `livematte batch` starts worker processes that import the main module again.
if __name__ == "__main__":
    sys.exit(main())
