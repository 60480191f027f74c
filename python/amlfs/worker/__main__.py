"""``python -m amlfs.worker --connect ENDPOINT --worker-id ID --run-id RUN [--device D] [--threads N]``."""
import sys

from .builtin import main

if __name__ == "__main__":
    sys.exit(main())
