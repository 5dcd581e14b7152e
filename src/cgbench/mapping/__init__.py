"""AA frames mapped to beads: the reference distributions, and re-projection of backmapped frames.
"""
