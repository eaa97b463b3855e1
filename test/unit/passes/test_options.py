import pytest

from fuseflow.passes import ModulePass, Option, OptionError
from fuseflow.passes.pass_base import parse_option_text, split_top_level


class _Demo(ModulePass):
    """A pass used only to exercise option parsing."""

    name = "test-demo-options"
    limit = Option(int, 8, "how many")
    scale = Option(float, 1.5)
    enabled = Option(bool, False)
    mode = Option(str, "fast", choices=["fast", "slow"])
    sizes = Option(list[int], [1, 2])
    names = Option(list[str], [])

    def run(self, module):
        pass


def test_defaults_and_kebab_case_names():
    p = _Demo()
    assert (p.limit, p.scale, p.enabled, p.mode, p.sizes, p.names) == (8, 1.5, False, "fast", [1, 2], [])
    assert list(_Demo.options) == ["limit", "scale", "enabled", "mode", "sizes", "names"]


def test_parse_mlir_option_syntax():
    p = _Demo.from_option_text("limit=0x10 scale=2 enabled mode='slow' sizes=4,8,16 names=a,c")
    assert p.limit == 16 and p.scale == 2.0 and p.enabled is True and p.mode == "slow"
    assert p.sizes == [4, 8, 16]
    assert p.names == ["a", "c"]
    assert _Demo.from_option_text("sizes={1,2}").sizes == [1, 2]


def test_round_trip_through_pipeline_text():
    p = _Demo.from_option_text("limit=3 sizes=5")
    again = _Demo.from_option_text(p.option_text()[1:-1])
    assert again.pipeline_text() == p.pipeline_text()
    assert p.pipeline_text().startswith("test-demo-options{limit=3 ")


@pytest.mark.parametrize(
    "text, message",
    [
        ("limt=3", "has no option 'limt'; did you mean 'limit'"),
        ("limit=abc", "bad value for option 'limit' (int): expected int, got 'abc'"),
        ("mode=medium", "'medium' is not one of: fast, slow"),
        ("sizes=1,x", "expected int, got 'x'"),
        ("enabled=maybe", "expected bool"),
    ],
)
def test_bad_options_name_the_problem(text, message):
    with pytest.raises(OptionError, match=None) as e:
        _Demo.from_option_text(text)
    assert message in str(e.value)
    assert "test-demo-options" in str(e.value)


def test_option_text_tokenizer():
    assert parse_option_text("a=1 b=x,y c") == {"a": "1", "b": "x,y", "c": ""}
    assert parse_option_text('p="q r" s={1 2}') == {"p": "q r", "s": "1 2"}
    with pytest.raises(OptionError):
        parse_option_text("a='open")


def test_split_top_level_respects_nesting():
    assert split_top_level("a,b{x=1,2},c(d,e)", ",") == ["a", "b{x=1,2}", "c(d,e)"]


def test_list_items_with_commas_are_braced_and_read_back_whole():
    p = _Demo(names=["i,k,j", "0"])
    assert p.option_text() == "{limit=8 scale=1.5 enabled=false mode=fast sizes=1,2 names={{i,k,j},0}}"
    assert _Demo.from_option_text(p.option_text()[1:-1]).names == ["i,k,j", "0"]
    assert _Demo.from_option_text("names={{i,j}}").names == ["i,j"]
    assert _Demo.from_option_text("names={i,j}").names == ["i", "j"]  # MLIR's braced list


def test_values_with_spaces_are_quoted():
    p = _Demo(names=["a b"])
    assert "names=\"a b\"" in p.option_text()
    assert _Demo.from_option_text(p.option_text()[1:-1]).names == ["a b"]
