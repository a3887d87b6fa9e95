"""Parameter files are read with YAML's safe loader."""

from __future__ import annotations

import pytest

from acctlib.errors import ParameterError
from acctlib.params import resolve_params


def test_params_file_cannot_run_code(tmp_path):
    marker = tmp_path / "ran"
    params_file = tmp_path / "params.yaml"
    params_file.write_text(
        f"variant: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with pytest.raises(ParameterError, match="not valid YAML"):
        resolve_params(params_file)
    assert not marker.exists()
