"""Backmapping CG frames to atoms: the test sets, deep backmapping (DBM) and the EM baseline.
"""
