import numpy as np
import pandas as pd

from cgbench.evaluate.tables import html_table, latex_table, significant


def test_cells_to_significant_figures():
    assert significant(1.23456789) == "1.23" and significant(1.23456789e32, 2) == "1.2e+32"
    assert significant(np.float64(0.000123456)) == "0.000123"
    assert significant(np.int64(7)) == "7" and significant(True) == "yes" and significant(np.bool_(False)) == "no"
    assert significant(np.nan) == "-" and significant(None) == "-" and significant(pd.NA) == "-"
    assert significant("a_b") == "a_b"


def test_latex_and_html_have_no_index_and_escape_text():
    df = pd.DataFrame({"model": ["A_1", "B&C"], "w1": [0.123456, np.nan], "ok": [True, False]}, index=[5, 6])
    tex = latex_table(df)
    assert tex.startswith("\\begin{tabular}{lrl}\n\\hline\nmodel & w1 & ok \\\\")
    assert "A\\_1 & 0.123 & yes \\\\" in tex and "B\\&C & - & no \\\\" in tex
    assert tex.rstrip().endswith("\\end{tabular}")
    html = html_table(df)
    assert "<th>model</th>" in html and "<td>0.123</td>" in html and "B&amp;C" in html
    assert ">5<" not in html and "<th></th>" not in html
