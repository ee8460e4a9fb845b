"""Readouts computed from fields and cells (same functions on live and stored state).

Importing the package registers every readout: the core ones (:mod:`.readouts`), the
pathology ones (:mod:`.pathology`: depth, BM breach, budding, pattern, front, clusters,
modes, clones), the immune ones (:mod:`.immune`: killers' states and kills, macrophage
polarisation) and the stroma ones (:mod:`.stroma`: CAFs, strand tips, the matrix at the front).
"""

from invasim.analysis import immune, pathology, readouts, stroma  # noqa: F401  (they register readouts)
