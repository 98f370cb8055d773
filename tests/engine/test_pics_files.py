"""A user's PICS file: checked, so a typo is an error and not a silently n/a case."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import bench.pics
from bench.pics import PicsError, load_pics, validate_pics


def test_a_pics_file_with_known_items_loads(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text('name = "ACME"\nrole = "cs"\n[items]\n"C-04" = false\n"HFS-2" = true\n')
    pics = load_pics(str(path))
    assert pics["C-04"] is False and pics["_name"] == "ACME" and pics["_role"] == "cs"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('role = "cs"\n[items]\n"C-4" = true\n', "C-4"),  # a typo of C-04
        ('role = "csms"\n[items]\n"HFS-2" = true\n', "HFS-2"),  # a charge point item
        ('role = "cs"\nmodel = "x"\n', "model"),
        ('role = "ev"\n', "role"),
        ("role = \n", "not TOML"),
    ],
)
def test_a_bad_pics_file_is_refused_naming_what_is_wrong(tmp_path, text, says):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PicsError) as refused:
        load_pics(str(path))
    assert says in str(refused.value) and str(path) in str(refused.value)


def test_every_shipped_pics_passes_the_check_a_users_file_gets():
    for path in Path(bench.pics.__file__).parent.glob("*.toml"):
        validate_pics(tomllib.loads(path.read_text()), str(path))
