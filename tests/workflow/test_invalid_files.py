"""`lightly-run validate` on broken workflows: exit 2 and every problem at its FILE:LINE:COL."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from runner.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data" / "invalid"
ROOT = Path(__file__).resolve().parents[2]


def _expected() -> dict[str, list[str]]:
    expected: dict[str, list[str]] = defaultdict(list)
    for line in (DATA / "expected.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, row, col, message = line.split("\t", 3)
            expected[name].append(f"{DATA / name}:{row}:{col}: {message}")
    return expected


EXPECTED = _expected()


def test_every_broken_file_has_expectations() -> None:
    files = sorted(p.name for p in DATA.glob("*.yaml"))
    assert len(files) >= 25
    assert sorted(EXPECTED) == files


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_reports_every_problem_at_its_location(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(DATA / name)])
    err = capsys.readouterr().err
    assert code == 2
    reported = [line for line in err.splitlines() if line.startswith(str(DATA))]
    assert reported == EXPECTED[name]
    assert "Traceback" not in err


def test_a_file_with_two_mistakes_reports_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA / "two_mistakes.yaml")]) == 2
    assert (
        len([line for line in capsys.readouterr().err.splitlines() if "two_mistakes.yaml:" in line])
        == 2
    )


def test_all_files_in_one_call_report_all_problems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, sorted(DATA.glob("*.yaml")))]) == 2
    err = capsys.readouterr().err
    assert sum(len(v) for v in EXPECTED.values()) == len(
        [x for x in err.splitlines() if x.startswith(str(DATA))]
    )


def test_github_annotations(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(DATA.parents[2]))
    main(["validate", str(DATA / "unknown_action.yaml")])  # an absolute path
    # relative to the repository: GitHub attaches the annotation to that file's line
    assert (
        "::error file=tests/data/invalid/unknown_action.yaml,line=5,col=11::unknown action"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize("path", sorted((ROOT / "workflows").glob("*.yaml")), ids=lambda p: p.name)
def test_example_workflows_are_valid(path: Path) -> None:
    assert main(["validate", str(path)]) == 0


def test_missing_file_is_a_diagnostic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/file.yaml"]) == 2
    assert "no/such/file.yaml:1:1: no such file" in capsys.readouterr().err


def test_yaml_anchors_merge_keys_and_x_keys_are_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runner.cli.catalog import load_catalog
    from runner.workflow.loader import load

    path = tmp_path / "anchors.yaml"
    path.write_text(
        """version: 1
name: anchors
x-shared: &shared {path: out.txt, content: from x-shared}
steps:
  - id: a
    uses: write_file
    with: *shared
  - id: b
    uses: write_file
    with:
      <<: *shared
      content: own key wins
  - id: c
    uses: write_file
    with: {path: c.txt, content: "{{ steps.b.outputs.path }}"}
"""
    )
    assert main(["validate", str(path)]) == 0
    steps = load(path, load_catalog()).steps
    assert dict(steps[0].with_) == {"path": "out.txt", "content": "from x-shared"}
    assert dict(steps[1].with_) == {"path": "out.txt", "content": "own key wins"}


def test_retry_on_is_a_key_not_the_yaml_1_1_boolean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runner.cli.catalog import load_catalog
    from runner.workflow.loader import load

    path = tmp_path / "retry.yaml"
    path.write_text(
        """version: 1
name: retry-on
steps:
  - id: block
    uses: write_file
    retry:
      attempts: 2
      on: [5xx, connection]
    with: {path: a.txt, content: "yes"}
  - id: flow
    uses: write_file
    retry: {attempts: 3, on: [timeout]}
    with: {path: b.txt, content: "no"}
"""
    )
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    block, flow = load(path, load_catalog()).steps
    assert block.retry.on == ("5xx", "connection") and flow.retry.on == ("timeout",)
    # only keys: a bare `yes` value is still YAML's boolean
    path.write_text(path.read_text().replace('content: "yes"', "content: yes"))
    assert load(path, load_catalog()).steps[0].with_["content"] is True


def test_another_tools_yaml_gets_one_line_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ci.yml").write_text("name: CI\non: [push]\njobs:\n  test: {runs-on: x}\n")
    assert main(["validate", str(tmp_path / "ci.yml")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'ci.yml'}:1:1: not a lightly-run workflow: it has no 'version' and no "
        "'steps' (its keys: name, on, jobs)",
        "1 problem(s) in 1 file(s)",
    ]


def test_a_folder_scan_skips_other_yaml_and_still_checks_the_workflows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "inputs.yaml").write_text("n_samples: 5\n")  # an --inputs-file
    (tmp_path / "playbook.yml").write_text("- hosts: all\n  tasks: []\n")  # Ansible
    (tmp_path / "k8s.yaml").write_text("kind: Service\n---\nkind: Deployment\n")
    (tmp_path / "empty.yaml").write_text("# later\n")
    (tmp_path / "nightly.yaml").write_text("version: 1\nname: n\nsteps: []\n")
    assert main(["validate", str(tmp_path)]) == 2  # the workflow itself is still checked
    err = capsys.readouterr().err
    for other in ("inputs.yaml", "playbook.yml", "k8s.yaml", "empty.yaml"):
        assert f"{tmp_path / other}: skipped, not a lightly-run workflow" in err
    assert f"{tmp_path / 'nightly.yaml'}:3:8:" in err and "inputs.yaml:1:1" not in err
    # named, each is an error that says what it is
    assert main(["validate", str(tmp_path / "k8s.yaml")]) == 2
    assert "not a lightly-run workflow: it holds several YAML documents" in capsys.readouterr().err
    (tmp_path / "nightly.yaml").unlink()
    assert main(["validate", str(tmp_path)]) == 2  # nothing to check is a mistake
    assert capsys.readouterr().err.endswith(f"error: no lightly-run workflow in {tmp_path}\n")


def test_the_pre_commit_hook_leaves_github_actions_workflows_alone() -> None:
    import re

    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def checked(path: str) -> bool:  # as pre-commit matches: re.search on the path
        return bool(files.search(path)) and not exclude.search(path)

    assert checked("workflows/nightly.yaml") and checked("ml/workflows/curate.yml")
    assert not checked(".github/workflows/ci.yml")
    assert not checked("sub/.github/workflows/ci.yaml") and not checked("workflows/data.json")


def test_a_for_each_steps_outputs_are_result_and_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(
        """version: 1
name: loop
steps:
  - id: mk
    uses: create_dataset
    for_each: [a-set, b-set]
    with: {dataset_name: "{{ item }}"}
  - id: ok
    uses: write_file
    with:
      path: ids.txt
      content: "{{ steps.mk.outputs.items[0].dataset_id }} {{ steps.mk.outputs.result }}"
  - id: wrong
    uses: write_file
    with: {path: id.txt, content: "{{ steps.mk.outputs.dataset_id }}"}
"""
    )
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{path}:15:35: step 'mk' runs for_each: its outputs are 'result' (the list of "
        "results) and 'items' (each item's outputs: steps.mk.outputs.items[0].dataset_id)"
    )


def test_the_design_documents_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    # it spells dataset_type as the Lightly docs do (DatasetType.IMAGES), not as the wire does
    example = DATA.parent / "valid" / "design_example.yaml"
    assert main(["validate", str(example)]) == 0, capsys.readouterr().err


def test_retry_on_takes_only_the_kinds_the_engine_tells_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A case slip (5XX) or an invented kind would match nothing: never retried."""
    path = tmp_path / "retry.yaml"
    path.write_text(
        """version: 1
name: retry-kinds
steps:
  - id: a
    uses: write_file
    retry: {attempts: 2, on: [teapot, 5XX, 5xx, "429", 4xx, timeout, connection, http, any]}
    with: {path: a.txt, content: "yes"}
"""
    )
    assert main(["validate", str(path)]) == 2
    expected = "a status class such as 5xx, a status such as 429, timeout, connection, http or any"
    assert capsys.readouterr().err.splitlines()[:2] == [
        f"{path}:6:31: step 'a' retry.on.0: 'teapot' is not a retry kind: {expected} (lower case)",
        f"{path}:6:39: step 'a' retry.on.1: '5XX' is not a retry kind: {expected} (lower case)",
    ]
