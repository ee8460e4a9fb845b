"""The built-in processes of the agent engine, one module each (see :mod:`invasim.agents`).

Importing this package registers them (:func:`invasim.agents.process.register_process`).

=============  =========  ==============================================================
process        clock      what it does
=============  =========  ==============================================================
secretion      diffusion  cells secrete and take up the diffusing fields at their voxels
tissue_supply  diffusion  a matrix field (the tissue, its vessels) supplies a diffusing field
diffusion      diffusion  the diffusing fields diffuse and decay (LOD solvers)
mechanics      mechanics  cell–cell and cell–wall potentials give each cell a velocity
motility       mechanics  persistent, biased random walk adds a motile velocity
ecm            mechanics  the matrix reshapes the motile velocity: pores, traction, fibres
attachments    mechanics  cells attach to neighbours with springs and detach (PhysiCell)
basement_me... mechanics  an intact basement membrane stops the cells' moves across it
phagocytosis   mechanics  live cells engulf dead (and live) neighbours (PhysiCell 1.14)
attack         mechanics  live cells attack live neighbours and damage them (PhysiCell 1.14)
fusion         mechanics  live cells fuse with live neighbours (PhysiCell 1.14)
contacts       phenotype  simple pressure and contact counts (sensing, before behaviours)
custom_data    phenotype  named per-cell variables that rules read and set (PhysiCell)
rho_gtpase     phenotype  per-cell Rac1/RhoA and EMT switches set the migration mode
volume         phenotype  cell volumes grow, shrink (apoptosis) and swell (necrosis)
damage         phenotype  damage accumulates (attacks, damage rate) and is repaired
cytotoxicity   phenotype  killer cells kill targets in contact; PD-1/PD-L1; exhaustion
death          phenotype  apoptosis and necrosis; dead cells are removed when done
cycle          phenotype  cell-cycle progression; marks the cells that divide
division       phenotype  each dividing cell becomes two daughters
transformation phenotype  live cells transform into other cell types (PhysiCell 1.14)
recruitment    phenotype  cells (immune cells) enter the window through its faces
matrix_deg...   phenotype  an enzyme field degrades a matrix field (example process)
basement_me... phenotype  basement_membrane_breach: pressure tears a weak BM; breach metrics
proteolysis    phenotype  cells degrade matrix at their position (MT1-MMP), deposit laminin-5
crosslinking   phenotype  cells cross-link matrix (LOX, pericellular or secreted); stiffness
matrix_disp... phenotype  matrix_displacement: cells push matrix aside by force (tracks)
vessels        diffusion  blood and lymph vessel segments; blood vessels hold oxygen
vessel_recr... phenotype  vessel_recruitment: cells (immune cells) enter from the vessels
intravasation  phenotype  tumour cells at a vessel enter it (mode, MMP, TAM, kind; clusters)
body           phenotype  a patient (invasim.body) whose shedding the run's intravasation sets
=============  =========  ==============================================================
"""

from __future__ import annotations

from invasim.processes import (  # noqa: F401  (each module registers its process)
    attachments,
    attack,
    basement_membrane,
    body,
    contacts,
    crosslinking,
    custom_data,
    cycle,
    cytotoxicity,
    damage,
    death,
    diffusion,
    division,
    ecm,
    fusion,
    intravasation,
    matrix_degradation,
    matrix_displacement,
    mechanics,
    motility,
    phagocytosis,
    proteolysis,
    recruitment,
    rho_gtpase,
    secretion,
    tissue_supply,
    transformation,
    vessels,
    volume,
)
