"""Allow `python -m harness`, which tests use to run the CLI as a child process."""

import sys

from harness.cli import main

sys.exit(main())
