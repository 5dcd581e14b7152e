"""CG models: built from the bonded terms and pair potentials, rescaled, run, compared with the reference.
"""
