"""Synthetic raw data for the shopfunnel project: ``python -m shopfunnel generate``."""

from shopfunnel.generate.core import GENERATOR_VERSION, TABLES, Generator
from shopfunnel.generate.params import Params

__all__ = ["GENERATOR_VERSION", "TABLES", "Generator", "Params"]
