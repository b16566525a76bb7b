"""``python -m posecheck`` runs the CLI."""

import sys

from posecheck.cli import entry

if __name__ == "__main__":  # also keeps spawned worker processes from re-running the CLI
    sys.exit(entry())
