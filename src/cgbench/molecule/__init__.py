"""One molecule: its definition, atom typing, OPLS-AA parameters, the AA topology, the mapping to
beads and the CG topology (the one vocabulary of bonded kinds, :data:`cgbench.molecule.spec.cgtopology.KINDS`).
"""
