"""The gmx wrapper's error reporting (no GROMACS needed)."""

import pytest

from cgbench.core.errors import EngineError
from cgbench.engines.gromacs import Gromacs, diagnostics


def test_missing_executable_names_the_command(tmp_path):
    with pytest.raises(EngineError) as err:
        Gromacs("gmx_does_not_exist").run(["grompp", "-f", "x.mdp"], tmp_path, tmp_path / "log")
    msg = str(err.value)
    assert "gmx_does_not_exist grompp -f x.mdp" in msg
    assert str(tmp_path) in msg and "not found" in msg


def test_failure_names_command_directory_and_log_tail(tmp_path):
    # a stand-in engine that fails the way gmx does: the wrapper must pass its diagnosis on
    script = tmp_path / "fake_gmx"
    script.write_text("#!/bin/sh\necho 'some output'\necho 'Fatal error:\nFile x.mdp not found' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(EngineError) as err:
        Gromacs(str(script)).run(["grompp"], tmp_path, tmp_path / "log")
    msg = str(err.value)
    assert "exited with status 3" in msg and "File x.mdp not found" in msg
    assert f"working directory: {tmp_path}" in msg


def test_bad_signs_fail_a_run_that_exits_zero(tmp_path):
    script = tmp_path / "fake_gmx"
    script.write_text("#!/bin/sh\necho 'Step 120, time 0.12 (ps)  LINCS WARNING'\nexit 0\n")
    script.chmod(0o755)
    with pytest.raises(EngineError, match="reported 'LINCS WARNING'"):
        Gromacs(str(script)).run(["mdrun"], tmp_path, tmp_path / "log", check_output=True)


def test_diagnostics_blocks():
    text = "x\nWARNING 1 [file a.mdp]:\n  Berendsen is bad\n\nNOTE 1:\n  meh\n\nFatal error:\nToo many warnings\n\n"
    assert diagnostics(text) == ["WARNING 1 [file a.mdp]:\n  Berendsen is bad", "Fatal error:\nToo many warnings"]
    assert diagnostics(text, kinds=("WARNING",)) == ["WARNING 1 [file a.mdp]:\n  Berendsen is bad"]
