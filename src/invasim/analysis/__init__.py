"""Readouts computed from fields and cells (same functions on live and stored state).

Importing the package registers every readout: the core ones (:mod:`.readouts`) and the
pathology ones (:mod:`.pathology`: depth, BM breach, budding, pattern, front, clusters,
modes, clones) and the immune ones (:mod:`.immune`: killers' states and kills).
"""

from invasim.analysis import immune, pathology, readouts  # noqa: F401  (they register readouts)
