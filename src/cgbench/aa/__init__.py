"""The all-atom reference: the protocol of its runs and what they measured.
"""
