"""Project files: byte-identical round trips, atomic saves, and clear errors for bad files."""

from __future__ import annotations

import json
import zipfile

import pytest

from engine.graph.errors import ProjectFileError
from engine.network import Network
from engine.project import FORMAT_VERSION, Project, load_project, project_to_bytes, save_project


def small_project() -> Project:
    net = Network("mlp")
    x = net.input((2,))
    x = net.add("Linear", x, out_features=16, name="hidden")
    x = net.add("ReLU", x)
    a = net.add("Linear", x, out_features=8)
    b = net.add("Linear", x, out_features=8)
    x = net.add("Concat", [b, a], dim=1)
    net.output(x)
    net.doc.move_nodes({"hidden": (120.5, -30.25)})
    return Project(net.doc, "mlp", {"kind": "spirals"}, {"epochs": 3}, {"zoom": 1.5})


def write_json(path, data) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(data) if not isinstance(data, str) else data)


def test_save_load_save_is_byte_identical(tmp_path):
    project = small_project()
    project.attachments["runs/r1/metrics.json"] = b'{"loss": [1.0]}'
    first = save_project(project, tmp_path / "a.loom")
    again = load_project(first)
    second = save_project(again, tmp_path / "b.loom")
    assert first.read_bytes() == second.read_bytes()
    assert again.attachments == project.attachments
    assert [e.source for e in again.network.edges_into("concat1")] == ["fc2", "fc1"]  # wire order kept
    assert again.network.nodes["hidden"].position == (120.5, -30.25)
    assert again.network.nodes["input1"].params["shape"] == (2,)


def test_save_is_atomic_and_keeps_a_backup(tmp_path):
    path = tmp_path / "p.loom"
    save_project(small_project(), path)
    old = path.read_bytes()
    project = load_project(path)
    project.name = "renamed"
    save_project(project, path)
    assert (tmp_path / "p.loom.bak").read_bytes() == old
    assert load_project(path).name == "renamed"
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_a_failed_save_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "p.loom"
    save_project(small_project(), path)
    old = path.read_bytes()
    project = small_project()
    project.ui = {"bad": float("nan")}  # not JSON: serialising fails before anything is replaced
    with pytest.raises(ValueError):
        save_project(project, path)
    assert path.read_bytes() == old


def base_data() -> dict:
    return json.loads(project_to_bytes(small_project()) and
                      zipfile.ZipFile(__import__("io").BytesIO(project_to_bytes(small_project())))
                      .read("project.json"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=FORMAT_VERSION + 1), "newer Layerloom"),
        (lambda d: d["network"]["nodes"][1].update(type="Dense9000"), "unknown layer type 'Dense9000'"),
        (lambda d: d["network"]["nodes"].append(dict(d["network"]["nodes"][0])), "duplicate node id 'input1'"),
        (lambda d: d["network"]["edges"].append(
            {"source": "ghost", "source_port": "out", "target": "fc1", "target_port": "in"}),
         "node 'ghost', which does not exist"),
        (lambda d: d.update(extra=1), "unknown field"),
        (lambda d: d.update(format="something"), "not a Layerloom project"),
        (lambda d: d["network"]["nodes"][1].update(params={"units": 3}), "unknown parameter"),
        (lambda d: d["network"]["nodes"][1].update(position="here"), "position"),
        (lambda d: d.pop("network"), "no network"),
    ],
)
def test_bad_project_files_give_clear_errors(tmp_path, mutate, message):
    data = base_data()
    mutate(data)
    path = tmp_path / "bad.loom"
    write_json(path, data)
    with pytest.raises(ProjectFileError, match=message):
        load_project(path)


def test_malformed_json_and_non_zip_files(tmp_path):
    path = tmp_path / "bad.loom"
    write_json(path, '{"format": "layerloom-project", "version": 1,,}')
    with pytest.raises(ProjectFileError, match="malformed JSON at line 1"):
        load_project(path)
    path.write_bytes(b"not a zip at all")
    with pytest.raises(ProjectFileError, match="not a zip file"):
        load_project(path)
    with pytest.raises(ProjectFileError, match="no such file"):
        load_project(tmp_path / "missing.loom")


def test_out_of_range_params_load_and_are_reported_not_fatal(tmp_path):
    from engine.graph.analysis import analyze

    data = base_data()
    data["network"]["nodes"][1]["params"]["out_features"] = -3
    path = tmp_path / "range.loom"
    write_json(path, data)
    project = load_project(path)
    problems = analyze(project.network).problems_of("hidden")
    assert problems and "out_features must be at least 1" in problems[0].message


def test_saved_files_are_readable_like_any_other_file(tmp_path):
    import os
    import stat

    path = save_project(small_project(), tmp_path / "p.loom")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    path.chmod(0o640)
    save_project(small_project(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
