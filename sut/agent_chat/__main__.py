"""Entry point of ``python -m agent_chat``."""

import sys

from agent_chat.cli import main

if __name__ == "__main__":
    sys.exit(main())
