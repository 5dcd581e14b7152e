"""The chemical elements of organic molecules: symbols, atomic numbers, formulas in Hill order."""

from collections import Counter

#: Atomic number -> symbol for the elements of organic molecules; an element outside it is named by number.
SYMBOLS = {1: "H", 5: "B", 6: "C", 7: "N", 8: "O", 9: "F", 14: "Si", 15: "P", 16: "S", 17: "Cl", 35: "Br", 53: "I"}
#: Symbol -> atomic number, the inverse of :data:`SYMBOLS`.
ELEMENTS = {s: z for z, s in SYMBOLS.items()}


def hill_formula(symbols):
    """Molecular formula in Hill order (C, H, then alphabetical; alphabetical without carbon)."""
    n = Counter(symbols)
    first = ["C", "H"] if "C" in n else []
    order = first + sorted(s for s in n if s not in first)
    return "".join(f"{s}{n[s] if n[s] > 1 else ''}" for s in order)
