"""``python -m tensorc``: the tensorc command line."""
import sys

from tensorc.cli.main import main

sys.exit(main())
