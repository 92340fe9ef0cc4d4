"""The host commands' errors, and the runner that makes any of them one line on stderr."""

from __future__ import annotations

from collections.abc import Callable

from edge.cli import run_main
from edge.errors import ReidError
from train.errors import TrainError


class ConvertError(ReidError):
    """The RUN folder or the data folder cannot be used for conversion."""


def run_host_main(body: Callable[[], int]) -> int:
    """edge.cli.run_main that also turns the data reader's TrainError into one line."""

    def guarded() -> int:
        try:
            return body()
        except TrainError as error:
            raise ConvertError(str(error)) from error

    return run_main(guarded)
