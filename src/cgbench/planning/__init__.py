"""What the workflow plans before any job runs: the molecule's outline, config checks, cost estimates.
"""
