import re

from acctlib.forecast.labels import METHOD_LABELS


def test_method_names_differ_without_brackets():
    """Readers who skip a bracketed model name still tell every method apart."""
    names = [
        re.sub(r"\s*\(.*?\)", "", label).strip().lower()
        for label in METHOD_LABELS.values()
    ]

    assert len(set(names)) == len(names), names
