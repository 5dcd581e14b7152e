"""Bonded CG interactions: Boltzmann inversion, direct Boltzmann inversion (DBI), the bonded-term types.
"""
