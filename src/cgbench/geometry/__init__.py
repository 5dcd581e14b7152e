"""Geometry of periodic systems: the minimum image, whole molecules, bonded distributions, RDFs,
close contacts, JS divergence. Arrays in nm, radians; orthorhombic boxes.
"""
