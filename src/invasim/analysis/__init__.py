"""Readouts computed from fields and cells (same functions on live and stored state).

Importing the package registers every readout: the core ones (:mod:`.readouts`), the
pathology ones (:mod:`.pathology`: depth, BM breach, budding, pattern, front, clusters,
modes, clones), the immune ones (:mod:`.immune`: killers' states and kills, macrophage
polarisation), the stroma ones (:mod:`.stroma`: CAFs, strand tips, the matrix at the front)
and the fields at the invasive front (:mod:`.front_band`).
"""

from invasim.analysis import (  # noqa: F401  (they register readouts)
    front_band,
    immune,
    pathology,
    readouts,
    stroma,
)
