"""Iterative Boltzmann inversion of the pair potentials (VOTCA ``csg_inverse`` with LAMMPS), and its
convergence criterion.
"""
