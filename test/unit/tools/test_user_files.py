"""Files the user names (fuseflow.files): a folder where a file is expected, a file that is not
UTF-8, an output in a folder that does not exist, a repro folder that does not exist: each is
``error: ...`` with exit status 1 from every command, never an internal error, and an output
path is checked before the work whose result goes there."""

import pytest

from fuseflow.cli import main as fuseflow_main
from fuseflow.files import FileError, output_folder, output_path, read_text, write_text
from fuseflow.tools.opt import main as opt_main

GRAPH = """func.func @copy(%arg0: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "sam.root"() : () -> !sam.ref<index>
  %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : (tensor<4xf32>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %2 = "sam.array"(%arg0, %1#1) : (tensor<4xf32>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
  %3 = "sam.fiber_write"(%1#0) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %4 = "sam.val_write"(%2) : (!sam.val<f32, array<i64>>) -> !sam.values
  %5 = "sam.output"(%3, %4) {operandSegmentSizes = array<i32: 1, 1>} : (!sam.level, !sam.values) -> tensor<4xf32>
  return %5 : tensor<4xf32>
}
"""


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "g.mlir"
    good.write_text(GRAPH)
    binary = tmp_path / "b.mlir"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    x = tmp_path / "x.npy"
    import numpy as np

    np.save(x, np.arange(4, dtype=np.float32))
    return {"good": str(good), "binary": str(binary), "dir": str(tmp_path), "missing_dir": str(tmp_path / "no" / "o.txt"),
            "x": str(x)}


def _fails(capsys, code, *needles):
    assert code == 1
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_read_text_and_output_path_name_the_problem(tmp_path):
    with pytest.raises(FileError, match="it is a directory"):
        read_text(tmp_path, "input")
    with pytest.raises(FileError, match="no such file"):
        read_text(tmp_path / "none", "input")
    (tmp_path / "b").write_bytes(b"\xff")
    with pytest.raises(FileError, match="not UTF-8 text"):
        read_text(tmp_path / "b")
    with pytest.raises(FileError, match="the folder '.*no' does not exist"):
        output_path(tmp_path / "no" / "x.txt")
    with pytest.raises(FileError, match="it is a directory"):
        write_text(tmp_path, "x")
    assert write_text(tmp_path / "ok.txt", "é").read_text(encoding="utf-8") == "é"
    with pytest.raises(FileError, match="it is a file"):
        output_folder(tmp_path / "ok.txt")
    assert output_folder(tmp_path / "a" / "b").is_dir()


def test_fuseflow_opt_bad_files(files, capsys):
    _fails(capsys, opt_main([files["dir"]]), "cannot read input", "it is a directory")
    _fails(capsys, opt_main([files["binary"]]), "not UTF-8 text")
    _fails(capsys, opt_main([files["good"], "-o", files["missing_dir"]]), "does not exist")


def test_simulate_bad_files(files, capsys):
    _fails(capsys, fuseflow_main(["simulate", files["dir"]]), "it is a directory")
    _fails(capsys, fuseflow_main(["simulate", files["binary"]]), "not UTF-8 text")
    for flag in ("--trace", "--save"):
        _fails(capsys, fuseflow_main(["simulate", files["good"], "--inputs", files["x"], flag, files["missing_dir"]]),
               f"cannot write {flag}", "does not exist")
    assert fuseflow_main(["simulate", files["good"], "--inputs", files["x"]]) == 0


def test_graph_and_compile_bad_files(files, capsys):
    _fails(capsys, fuseflow_main(["graph", files["binary"], "--stats"]), "not UTF-8 text")
    _fails(capsys, fuseflow_main(["graph", files["good"], "--dot", files["missing_dir"]]), "does not exist")
    # checked before compiling
    _fails(capsys, fuseflow_main(["compile", "spmm", "-o", files["missing_dir"]]), "cannot write -o", "does not exist")


def test_tune_bad_scenario_file(files, capsys):
    _fails(capsys, fuseflow_main(["tune", files["binary"]]), "not UTF-8 text")


def test_a_missing_repro_folder_does_not_hide_the_pipeline_error(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FUSEFLOW_REPRO_DIR", str(tmp_path / "nowhere"))
    code = opt_main([files["good"], "-p", 'builtin.module(sam-parallelize{par="q:2"})'])
    _fails(capsys, code, "the graph has no loop 'q'", "is not a folder")


def test_output_folders_that_are_files_are_errors(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file")
    _fails(capsys, fuseflow_main(["explore", "spmm", "--output", str(taken), "-q", "--no-plot"]),
           "cannot use --output", "it is a file")
