"""The ground floor: units, errors, logging, configuration, file locations, wall-time limits.
"""
