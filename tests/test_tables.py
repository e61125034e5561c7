import pytest

from vramlib.tables import markdown_table, text_table


def test_markdown_table_shape():
    t = markdown_table(["a", "b"], [(1, 2), (3, 4)])
    assert t.splitlines() == ["| a | b |", "|:--|--:|", "| 1 | 2 |", "| 3 | 4 |"]


def test_text_table_aligns_columns():
    t = text_table(["name", "GB"], [("x", "1.0"), ("longer", "10.5")])
    assert t.splitlines()[2] == "x        1.0"
    assert t.splitlines()[3] == "longer  10.5"


def test_rows_must_match_headers():
    with pytest.raises(ValueError, match=r"rows\[0\]"):
        markdown_table(["a", "b"], [(1,)])
