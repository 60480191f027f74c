"""``python -m amlfs.worker --connect ENDPOINT --worker-id ID --run-id RUN [--device D] [--threads N]``."""
from .builtin import main
from .group import end_process

if __name__ == "__main__":
    end_process(main())
