"""Argument types shared by the command-line commands: clear messages for bad input."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date


def whole_number(minimum: int) -> Callable[[str], int]:
    """An int of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            bound = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def number(minimum: float, maximum: float | None = None) -> Callable[[str], float]:
    """A float in [minimum, maximum] (no upper bound when maximum is None)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be between {minimum:g} and {maximum:g}, got {value}"
            )
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum:g} or more, got {value}")
        return value

    return parse


def iso_date(text: str) -> date:
    """A YYYY-MM-DD date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None
