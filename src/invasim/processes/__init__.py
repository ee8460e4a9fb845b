"""The built-in processes of the agent engine, one module each (see :mod:`invasim.agents`).

Importing this package registers them (:func:`invasim.agents.process.register_process`).

=============  =========  ==============================================================
process        clock      what it does
=============  =========  ==============================================================
secretion      diffusion  cells secrete and take up the diffusing fields at their voxels
diffusion      diffusion  the diffusing fields diffuse and decay (LOD solvers)
mechanics      mechanics  cell–cell and cell–wall potentials give each cell a velocity
motility       mechanics  persistent, biased random walk adds a motile velocity
contacts       phenotype  simple pressure and contact counts (sensing, before behaviours)
volume         phenotype  cell volumes grow, shrink (apoptosis) and swell (necrosis)
death          phenotype  apoptosis and necrosis; dead cells are removed when done
cycle          phenotype  cell-cycle progression; marks the cells that divide
division       phenotype  each dividing cell becomes two daughters
transformation phenotype  live cells transform into other cell types (PhysiCell 1.14)
matrix_deg...   phenotype  an enzyme field degrades a matrix field (example process)
=============  =========  ==============================================================
"""

from __future__ import annotations

from invasim.processes import (  # noqa: F401  (each module registers its process)
    contacts,
    cycle,
    death,
    diffusion,
    division,
    matrix_degradation,
    mechanics,
    motility,
    secretion,
    transformation,
    volume,
)
