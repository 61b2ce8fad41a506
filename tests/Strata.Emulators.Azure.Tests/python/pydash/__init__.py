"""A stand-in for the few pydash functions azure-ai-ml 1.4.0 uses (get, omit, objects.set_); Debian's python3-azure lacks pydash."""

from . import objects
from .objects import get, omit, set_

__all__ = ["get", "omit", "set_", "objects"]
