"""Core data structures: the mesh, the field state, the simulation loop."""
