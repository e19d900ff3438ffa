"""Spec files are bounded input (issue 11, "Unbounded input"): size, anchors/aliases, values, depth, long values.

The cases from the issue: a 419-byte YAML alias bomb gave an 80 MB error and 600 MB of memory; a 50 MB spec
with 2.6 million keys took 5 minutes and 5.5 GB; a 50 MB ``name`` was echoed back whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.specs import TuningJobSpec, dump_yaml, load_job_spec, parse_job_spec
from hf_sagemaker_tuning.specs.io import MAX_SPEC_BYTES, MAX_SPEC_NODES

from ._base_spec import spec_with

pytestmark = pytest.mark.timeout(30)

#: The classic "billion laughs" document: 419 bytes that expand to 10^9 strings.
ALIAS_BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's fast first pass, and with the Python loader alone (no libyaml)."""
    if request.param == "pure-python":
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML is built without libyaml")
    return str(request.param)


def _write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_alias_bomb_is_refused_with_file_and_line(tmp_path: Path, yaml_parser: str) -> None:
    path = _write(tmp_path, ALIAS_BOMB)
    assert path.stat().st_size < 500
    with pytest.raises(SpecError) as info:
        load_job_spec(path)
    message = str(info.value)
    assert str(path) in message and "line 1, column 4" in message
    assert "anchors and aliases are not allowed" in message and "&a" in message
    assert len(message) < 400
    assert info.value.source == str(path)


def test_an_alias_alone_is_refused(tmp_path: Path, yaml_parser: str) -> None:
    text = dump_yaml(parse_job_spec(spec_with())) + "extra: *nothing\n"
    with pytest.raises(SpecError, match=r"line \d+, column 8: YAML anchors and aliases are not allowed"):
        load_job_spec(_write(tmp_path, text))


def test_an_anchor_used_for_reuse_is_refused(tmp_path: Path, yaml_parser: str) -> None:
    data = spec_with()
    text = yaml.safe_dump(data, sort_keys=False).replace("training:\n", "training: &train\n", 1)
    with pytest.raises(SpecError, match="anchor &train"):
        load_job_spec(_write(tmp_path, text))


def test_a_plain_spec_still_loads_with_either_parser(tmp_path: Path, yaml_parser: str) -> None:
    spec = parse_job_spec(spec_with())
    assert load_job_spec(_write(tmp_path, dump_yaml(spec))) == spec


def test_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w", encoding="utf-8") as handle:  # the case: ~50 MB, 2.6 million keys
        chunk = "".join(f"k{i}: {i}\n" for i in range(100_000))
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)
    with pytest.raises(SpecError) as info:
        load_job_spec(path)
    message = str(info.value)
    assert str(path) in message and "limited to 1 MiB (1,048,576 bytes)" in message
    assert f"{path.stat().st_size:,} bytes" in message


def test_file_just_over_the_limit_is_refused_and_at_the_limit_is_parsed(tmp_path: Path) -> None:
    base = dump_yaml(parse_job_spec(spec_with()))
    over = _write(tmp_path, base + "#" * (MAX_SPEC_BYTES - len(base.encode())) + "\n", "over.yaml")
    assert over.stat().st_size == MAX_SPEC_BYTES + 1
    with pytest.raises(SpecError, match="limited to 1 MiB"):
        load_job_spec(over)
    at = _write(tmp_path, base + "#" * (MAX_SPEC_BYTES - len(base.encode()) - 1) + "\n", "at.yaml")
    assert at.stat().st_size == MAX_SPEC_BYTES
    assert load_job_spec(at).name == "tweet-eval-distilbert"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_too_many_keys_within_the_size_limit_is_refused_quickly(tmp_path: Path, suffix: str, yaml_parser: str) -> None:
    keys = {f"k{i}": 1 for i in range(70_000)}
    text = json.dumps(keys) if suffix == ".json" else "".join(f"{k}: {v}\n" for k, v in keys.items())
    path = _write(tmp_path, text, f"many{suffix}")
    assert path.stat().st_size <= MAX_SPEC_BYTES
    with pytest.raises(SpecError) as info:
        load_job_spec(path)
    assert f"more than {MAX_SPEC_NODES:,} values" in str(info.value) and str(path) in str(info.value)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("flow.yaml", "a: " + "[" * 100_000),
        ("block.yaml", "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n"),
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("forty.json", '{"a": ' + "[" * 40 + "1" + "]" * 40 + "}"),
        ("forty.yaml", "a: " + "[" * 40 + "1" + "]" * 40 + "\n"),
    ],
)
def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path: Path, name: str, text: str) -> None:
    path = _write(tmp_path, text, name)
    with pytest.raises(SpecError) as info:
        load_job_spec(path)
    assert str(path) in str(info.value)
    assert "nest" in str(info.value)


def test_many_problems_are_counted_not_all_listed(tmp_path: Path) -> None:
    data = spec_with()
    data.update({f"unknown_{i}": i for i in range(500)})
    with pytest.raises(SpecError) as info:
        load_job_spec(_write(tmp_path, json.dumps(data), "job.json"))
    message = str(info.value)
    assert message.startswith(f"invalid spec in {tmp_path / 'job.json'}: 500 problems")
    assert "  ... and 480 more" in message and message.count("\n") == 21
    assert len(info.value.errors) == 500


def test_a_50_mb_name_is_not_echoed_whole() -> None:
    good = parse_job_spec(spec_with())
    fields = {name: getattr(good, name) for name in ("dataset", "training", "search_space", "objective", "tuning")}
    with pytest.raises(SpecError) as info:
        TuningJobSpec(name="x" * 50_000_000, **fields)
    message = str(info.value)
    assert len(message) < 600
    assert "'" + "x" * 200 + "'… (50,000,000 characters)" in message
    assert "does not fit SageMaker's tuning-job name rule" in message
    assert [p for p, _ in info.value.errors] == ["name"]


def test_long_values_from_a_file_are_cut_in_the_message(tmp_path: Path) -> None:
    data = spec_with(
        **{
            "dataset.source": "s3://B" + "b" * 900_000,
            "tuning.strategy": "s" * 10_000,
            "training.instance_type": "i" * 5000,
        }
    )
    with pytest.raises(SpecError) as info:
        load_job_spec(_write(tmp_path, json.dumps(data), "job.json"))
    message = str(info.value)
    assert len(message) < 1500, message[:2000]
    assert "(900,006 characters)" in message and "(10,000 characters)" in message and "(5,000 characters)" in message
    assert {p for p, _ in info.value.errors} == {"dataset.source", "tuning.strategy", "training.instance_type"}


def test_a_long_unknown_key_is_cut_in_the_path(tmp_path: Path) -> None:
    data = spec_with(**{"tuning." + "k" * 100_000: 1})
    with pytest.raises(SpecError) as info:
        load_job_spec(_write(tmp_path, json.dumps(data), "job.json"))
    (path, message), *_ = info.value.errors
    assert path.startswith("tuning.kkk") and path.endswith("(100,000 characters)") and len(path) < 260
    assert message.startswith("unknown field")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "name: a\ntuning: {max_jobs: 2}\ntuning: {max_jobs: 3}\n",
            "line 3, column 1: duplicate key 'tuning' (first at line 2)",
        ),
        ("name: a\ndataset:\n  source: x\n  source: y\n", "line 4, column 3: duplicate key 'source' (first at line 3)"),
        ("name: a\nb: {c: 1, c: 2}\n", "line 2, column 11: duplicate key 'c' (first at line 2)"),
        ("name: a\nn: " + "9" * 5000 + "\n", "line 2, column 4: a number of 5,000 characters"),
        ("name: 2001-13-45\n", "line 1, column 7: YAML reads 2001-13-45 as a date"),
        ("n: !!float abc\n", "line 1, column 4: 'abc' is not a number"),
        ("n: !!int abc\n", "line 1, column 4: 'abc' is not an integer"),
    ],
)
def test_values_pyyaml_cannot_build_and_duplicate_keys_name_the_line(
    tmp_path: Path, yaml_parser: str, text: str, fragment: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_job_spec(path)
    assert f"spec file {str(path)!r}, {fragment}" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"name": "a", "name": "b"}', "duplicate key 'name'"),
        ('{"n": ' + "9" * 5000 + "}", "a number of 5,000 characters"),
        ('{"n": NaN}', "NaN is not JSON"),
        ('{"n": 1e999}', "1e999 is out of range"),
    ],
)
def test_json_duplicate_keys_and_unreadable_numbers_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        load_job_spec(_write(tmp_path, text, "job.json"))


def test_a_yaml_spec_without_duplicates_or_dates_still_loads(tmp_path: Path) -> None:
    spec = parse_job_spec(spec_with())
    assert load_job_spec(_write(tmp_path, dump_yaml(spec))) == spec
    quoted = dump_yaml(spec).replace(f"name: {spec.name}", "name: '2001-12-25'")
    assert load_job_spec(_write(tmp_path, quoted)).name == "2001-12-25"
