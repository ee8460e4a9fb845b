"""Field solvers: diffusion, taxis and other transport on the mesh."""
