"""The package version, in a module of its own so that any layer may read it.

``from invasim import __version__`` would import the whole public API (the top of the stack)
from wherever it is written; modules inside the package import it from here.
"""

__version__ = "0.1.0"
