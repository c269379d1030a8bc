"""Browser test fixtures (see browser_support.py)."""
from .browser_support import *  # noqa: F403
