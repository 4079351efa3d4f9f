"""Telling the installed PyG release from its metadata, and what each string means."""

from importlib import metadata
from pathlib import Path
from typing import Optional

import pytest

from pyg_jit_shim.detect import classify, find_installed


def _dist_info(site: Path, name: str, version: str, dirname: Optional[str] = None) -> None:
    folder = site / (dirname or "{}-{}.dist-info".format(name.replace("-", "_"), version))
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
        "long description\nVersion: 9\n")


def test_matches_importlib_metadata_on_this_machine() -> None:
    found = find_installed()
    assert found.problem is None
    assert found.version == metadata.version("torch_geometric")


def test_reads_a_wheel_install(tmp_path: Path) -> None:
    _dist_info(tmp_path, "torch-geometric", "2.5.2")
    _dist_info(tmp_path, "torch", "2.13.0")
    assert find_installed([str(tmp_path)]).version == "2.5.2"


def test_reads_an_egg_info(tmp_path: Path) -> None:
    egg = tmp_path / "torch_geometric.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.2\nName: torch_geometric\nVersion: 2.5.1\n")
    assert find_installed([str(tmp_path)]).version == "2.5.1"


def test_first_entry_on_the_path_wins(tmp_path: Path) -> None:
    _dist_info(tmp_path / "a", "torch_geometric", "2.5.0")
    _dist_info(tmp_path / "b", "torch_geometric", "2.7.0")
    assert find_installed([str(tmp_path / "a"), str(tmp_path / "b")]).version == "2.5.0"
    assert find_installed([str(tmp_path / "b"), str(tmp_path / "a")]).version == "2.7.0"


def test_absent(tmp_path: Path) -> None:
    _dist_info(tmp_path, "torch", "2.13.0")
    found = find_installed([str(tmp_path), str(tmp_path / "missing")])
    assert found.version is None and found.problem is None


def test_package_without_metadata_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "torch_geometric").mkdir()
    found = find_installed([str(tmp_path)])
    assert found.version is None
    assert found.problem is not None and "no package metadata" in found.problem


def test_two_releases_side_by_side_is_a_problem(tmp_path: Path) -> None:
    _dist_info(tmp_path, "torch_geometric", "2.5.2")
    _dist_info(tmp_path, "torch_geometric", "2.5.3")
    found = find_installed([str(tmp_path)])
    assert found.version is None
    assert found.problem is not None and "2.5.2, 2.5.3" in found.problem


@pytest.mark.parametrize("version, affected", [
    ("2.5.0", "2.5.0"), ("2.5.1", "2.5.1"), ("2.5.2", "2.5.2"),
    ("2.5", "2.5.0"),
    ("2.4.0", None), ("2.5.3", None), ("2.6.1", None), ("2.8.1", None), ("3.0.0", None),
])
def test_plain_releases(version: str, affected: Optional[str]) -> None:
    release = classify(version)
    assert release.affected == affected
    assert release.note is None


@pytest.mark.parametrize("version, affected, warn", [
    # A local build or a post release carries the release's code: repaired.
    ("2.5.2+local", "2.5.2", False),
    ("2.5.2+cpu.vendor1", "2.5.2", False),
    ("2.5.2.post1", "2.5.2", False),
    ("2.5.0.post2+abc", "2.5.0", False),
    # Pre-releases and development builds near the affected ones: unknown code,
    # left alone, loudly.
    ("2.5.3rc1", None, True),
    ("2.5.2.dev0", None, True),
    ("2.5.0a1", None, True),
    ("2.5.2.post1.dev3", None, True),
    ("2.5.2.1", None, True),
    ("1!2.5.2", None, True),
    # Far from the affected releases: left alone, quietly.
    ("2.6.0rc1", None, False),
    ("2.4.0.dev20231001", None, False),
    ("2.6.1+cpu", None, False),
])
def test_unusual_versions(version: str, affected: Optional[str], warn: bool) -> None:
    release = classify(version)
    assert release.affected == affected
    assert release.warn == warn
    if affected is not None or warn:
        assert release.note is not None and version in release.note


def test_not_a_version() -> None:
    release = classify("two-point-five")
    assert release.affected is None and release.warn
    assert release.note is not None and "not a valid version" in release.note
