"""What every device command shares: logging set-up and turning `ReidError` into one line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from edge.errors import ReidError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbose: bool = False) -> None:
    """Configure the root logger once, from `main()`; library modules only get loggers."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)


def run_main(body: Callable[[], int]) -> int:
    """Run a command body; a user's mistake becomes `prog: error: message` and exit code 2."""
    try:
        return body()
    except ReidError as error:
        prog = sys.argv[0].rsplit("/", 1)[-1] or "reid"
        sys.stderr.write(f"{prog}: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
