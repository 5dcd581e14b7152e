"""Tables as LaTeX tabulars and HTML, numbers to a few significant figures and no index column.

A table of results carries the precision its intervals support, not sixteen digits. Booleans read
"yes"/"no" and missing values a dash. The LaTeX is a plain ``tabular`` with ``\\hline`` rules, which
needs no package and no template engine.
"""

import numbers

import numpy as np
import pandas as pd

__all__ = ["significant", "latex_table", "html_table"]

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def significant(value, digits=3):
    """One cell as text: floats to ``digits`` significant figures, booleans yes/no, missing a dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}g}"
    return str(value)


def _escape(text):
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def _numeric(series):
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def latex_table(df, digits=3):
    """A DataFrame as a LaTeX ``tabular`` (numeric columns right-aligned), without its index.

    Parameters
    ----------
    df : pandas.DataFrame
    digits : int
        Significant figures of floats.

    Returns
    -------
    str
    """
    align = "".join("r" if _numeric(df[c]) else "l" for c in df.columns)
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\hline",
             " & ".join(_escape(str(c)) for c in df.columns) + r" \\", r"\hline"]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(_escape(significant(v, digits)) for v in row) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def html_table(df, digits=3):
    """A DataFrame as an HTML table, cells by :func:`significant`, without its index."""
    text = df.astype(object).map(lambda v: significant(v, digits))
    return text.to_html(index=False, border=0, escape=True, na_rep="-")
