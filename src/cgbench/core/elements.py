"""The chemical elements of organic molecules: symbols, atomic numbers, formulas in Hill order."""

from collections import Counter
import itertools

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


def element_pairs(elements):
    """Every pair of the given element symbols, each once, in the given order (C-C, C-N, N-N for C and N)."""
    return [f"{a}-{b}" for a, b in itertools.combinations_with_replacement(elements, 2)]


def heavy_element_pairs(atomic_numbers):
    """Every pair of the heavy elements (Z > 1) among ``atomic_numbers``, in order of atomic number."""
    present = sorted({int(z) for z in atomic_numbers if int(z) > 1})
    return element_pairs([SYMBOLS.get(z, str(z)) for z in present])
