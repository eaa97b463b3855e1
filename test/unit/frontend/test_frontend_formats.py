"""The format language: names, encodings, validation, and the inverse from encodings."""

import pytest

from fuseflow.frontend.formats import (
    Format,
    FormatError,
    Level,
    format_from_encoding,
    levels_name,
    parse_format,
)


@pytest.mark.parametrize(
    "name, levels",
    [
        ("csr", "(d0 : dense, d1 : compressed)"),
        ("CSC", "(d1 : dense, d0 : compressed)"),
        ("dcsr", "(d0 : compressed, d1 : compressed)"),
        ("dcsc", "(d1 : compressed, d0 : compressed)"),
        ("coo", "(d0 : compressed(nonunique), d1 : singleton(soa))"),
        ("bsr4", "(d0 floordiv 4 : dense, d1 floordiv 4 : compressed, d0 mod 4 : dense, d1 mod 4 : dense)"),
        ("bsr(2, 8)", "(d0 floordiv 2 : dense, d1 floordiv 8 : compressed, d0 mod 2 : dense, d1 mod 8 : dense)"),
        ("bsc(2,8)", "(d1 floordiv 8 : dense, d0 floordiv 2 : compressed, d1 mod 8 : dense, d0 mod 2 : dense)"),
        ("d1:dense,d0:compressed", "(d1 : dense, d0 : compressed)"),
        ("(d0:c, d1:d)", "(d0 : compressed, d1 : dense)"),
        ("d0:cn,d1:s", "(d0 : compressed(nonunique), d1 : singleton(soa))"),
    ],
)
def test_names_map_to_encodings(name, levels):
    text = parse_format(name).encoding_text(2)
    assert text == f"#sparse_tensor.encoding<{{ map = (d0, d1) -> {levels}, posWidth = 64, crdWidth = 64 }}>"


def test_dense_has_no_encoding_and_coo_is_rank_generic():
    assert parse_format("dense").encoding_text(2) is None
    assert "d1 : singleton(nonunique, soa), d2 : singleton(soa)" in parse_format("coo").encoding_text(3)
    assert parse_format("coo").encoding_text(1).endswith("-> (d0 : compressed), posWidth = 64, crdWidth = 64 }>")


def test_widths_can_be_left_to_mlir():
    assert parse_format("csr").encoding_text(2, 0, 0) == (
        "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>"
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        ("cssr", "unknown format 'cssr'"),
        ("bsr0", "block sizes must be positive"),
        ("d0:dense,d2:compressed", "must be a permutation of 0..1"),
        ("d0:weird,d1:dense", "cannot parse level 'd0:weird'"),
        ("d0:dense,d1:s", "a singleton level must follow"),
        ("d0:d,d1:cn", "innermost level cannot be non-unique"),
    ],
)
def test_malformed_names_are_rejected(spec, message):
    with pytest.raises(FormatError, match=message):
        parse_format(spec)


def test_non_string_is_rejected():
    with pytest.raises(FormatError, match="a format is a string"):
        parse_format(3)


@pytest.mark.parametrize(
    "spec, shape, message",
    [
        ("csr", (4,), "rank-2 tensors but x has shape \\[4\\] \\(rank 1\\)"),
        ("d0:dense,d1:dense,d2:compressed", (4, 4), "rank-3 tensors"),
        ("bsr3", (6, 4), "block size 3 does not divide dimension 1 \\(size 4\\)"),
        ("bsc(2,4)", (3, 8), "block size 2 does not divide dimension 0 \\(size 3\\)"),
        ("coo", (), "rank >= 1"),
    ],
)
def test_formats_that_do_not_fit_are_rejected(spec, shape, message):
    with pytest.raises(FormatError, match=message):
        parse_format(spec).validate(shape, "x")


def test_formats_that_fit_pass_validation():
    parse_format("bsr(2,4)").validate((4, 8))
    parse_format("coo").validate((2, 3, 4))
    parse_format("dense").validate((5,))


@pytest.mark.parametrize("name", ["csr", "csc", "dcsr", "dcsc", "coo", "bsr(2,4)", "bsc3", "d1:c,d0:d"])
def test_encoding_round_trips_to_the_same_format(name):
    f = parse_format(name)
    back = format_from_encoding(f.encoding_text(2))
    assert back.levels_for(2) == f.levels_for(2)
    assert back.name == f.name


def test_batched_block_levels_round_trip():
    inner = parse_format("bsr2").levels_for(2)
    levels = (Level(0, "dense"),) + tuple(Level(x.dim + 1, x.kind, x.block, x.offset) for x in inner)
    f = Format(levels_name(levels), levels)
    assert f.name == "d0:dense,d1/2:dense,d2/2:compressed,d1%2:dense,d2%2:dense"
    assert format_from_encoding(f.encoding_text(3)).levels_for(3) == levels
    assert f.dim_blocks(3) == (1, 2, 2)
    with pytest.raises(FormatError, match="block size 2 does not divide dimension 2"):
        f.validate((2, 4, 5))


def test_unsupported_encoding_levels_are_reported():
    with pytest.raises(FormatError, match="unsupported level"):
        format_from_encoding("#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : batch, d1 : compressed) }>")


def test_torch_layouts_give_formats():
    torch = pytest.importorskip("torch")
    from fuseflow.frontend.formats import torch_layout_format

    d = torch.eye(4)
    assert torch_layout_format(d).name == "dense"
    assert torch_layout_format(d.to_sparse_coo()).name == "coo"
    assert torch_layout_format(d.to_sparse_csr()).name == "csr"
    assert torch_layout_format(d.to_sparse_csc()).name == "csc"
    assert torch_layout_format(d.to_sparse_bsr((2, 1))).name == "bsr(2,1)"
    assert torch_layout_format(d.to_sparse_bsc((1, 2))).name == "bsc(1,2)"


def test_batched_csr_and_csc_have_dense_batch_levels():
    torch = pytest.importorskip("torch")
    from fuseflow.frontend.formats import torch_layout_format

    b = torch.eye(4).repeat(2, 1, 1)  # every batch stores as many entries (torch requires it)
    assert torch_layout_format(b.to_sparse_csr()).name == "d0:dense,d1:dense,d2:compressed"
    assert torch_layout_format(b.to_sparse_csc()).name == "d0:dense,d2:dense,d1:compressed"
