"""The frame of baseline ``upstream``, without any upstream code: a checkout is checked and its
commit read as git reports it; a script's function is taken without running the script; the
builder refuses an adapter, dataset or metric that does not fit before importing anything."""
from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from amlfs.baselines import BaselineError, build_recipe
from amlfs.upstream import ADAPTERS, function_from_source, git_commit, load_module, open_checkout
from amlfs.upstream.checkout import UpstreamRepo

REPO = UpstreamRepo("someone/thing", "a" * 40, "https://example.com/thing", ("train.py", "lib/model.py"))


def git(cwd, *args) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def checkout_folder(tmp_path, commit=None):
    (tmp_path / "lib").mkdir(exist_ok=True)
    (tmp_path / "lib" / "model.py").write_text("WIDTH = 3\n")
    (tmp_path / "train.py").write_text(
        "import os\nos.makedirs('res', exist_ok=True)\nraise SystemExit('the script ran')\n\n"
        "def lr_at(epoch):\n    return BASE * GAMMA ** epoch\n")
    if commit is not None:
        (tmp_path / "COMMIT").write_text(commit + "\n")
    return tmp_path


def test_git_commit_is_what_git_rev_parse_says(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "a.py")
    git(repo, "commit", "-qm", "one")
    assert git_commit(repo) == git(repo, "rev-parse", "HEAD")
    git(repo, "pack-refs", "--all")
    assert git_commit(repo) == git(repo, "rev-parse", "HEAD")
    (repo / "a.py").write_text("x = 2\n")
    git(repo, "commit", "-qam", "two")
    second = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert git_commit(repo) == git(repo, "rev-parse", "HEAD") != second
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "main")
    assert git_commit(tmp_path / "wt") == second


def test_a_snapshot_commit_file_and_nothing(tmp_path):
    assert git_commit(checkout_folder(tmp_path, "b" * 40)) == "b" * 40
    (tmp_path / "COMMIT").unlink()
    assert git_commit(tmp_path) is None


def test_open_checkout_errors_name_the_option_and_the_missing_files(tmp_path):
    with pytest.raises(BaselineError, match=r"`baseline.options.repo`: expected the folder of a checkout of someone/thing "
                                            r"\(https://example.com/thing, tested at aaaaaaaaaaaa\), got null"):
        open_checkout(REPO, None)
    with pytest.raises(BaselineError, match="is not a folder"):
        open_checkout(REPO, str(tmp_path / "nothing"))
    (tmp_path / "train.py").write_text("")
    with pytest.raises(BaselineError, match=r"is not a checkout of someone/thing: missing lib/model.py"):
        open_checkout(REPO, str(tmp_path))


def test_open_checkout_warns_on_another_or_an_unknown_commit(tmp_path, caplog):
    folder = checkout_folder(tmp_path, "a" * 40)
    with caplog.at_level(logging.WARNING, logger="amlfs.upstream"):
        assert open_checkout(REPO, str(folder)).tested
    assert caplog.records == []
    (folder / "COMMIT").write_text("c" * 40)
    with caplog.at_level(logging.WARNING, logger="amlfs.upstream"):
        assert not open_checkout(REPO, str(folder)).tested
    assert f"is at commit {'c' * 40}; the adapter was tested at {'a' * 40}" in caplog.text
    (folder / "COMMIT").unlink()
    with caplog.at_level(logging.WARNING, logger="amlfs.upstream"):
        open_checkout(REPO, str(folder))
    assert "cannot tell which commit" in caplog.text


def test_function_from_source_runs_nothing_else_of_the_script(tmp_path, monkeypatch):
    checkout = open_checkout(REPO, str(checkout_folder(tmp_path, "a" * 40)))
    monkeypatch.chdir(tmp_path)
    lr_at = function_from_source(checkout, "train.py", "lr_at", {"BASE": 0.1, "GAMMA": 0.5})
    assert lr_at(3) == 0.1 * 0.5 ** 3
    assert not (tmp_path / "res").exists()  # the script's own top level did not run
    with pytest.raises(BaselineError, match="has no top-level function or class missing"):
        function_from_source(checkout, "train.py", "missing", {})


def test_load_module_imports_by_plain_name_and_evicts_a_namesake(tmp_path):
    checkout = open_checkout(REPO, str(checkout_folder(tmp_path, "a" * 40)))
    (tmp_path / "helper_mod_x.py").write_text("VALUE = 'from the checkout'\n")
    other = tmp_path.parent / f"{tmp_path.name}-elsewhere"  # outside the checkout
    other.mkdir()
    (other / "helper_mod_x.py").write_text("VALUE = 'elsewhere'\n")
    sys.path.insert(0, str(other))
    try:
        assert __import__("helper_mod_x").VALUE == "elsewhere"
    finally:
        sys.path.remove(str(other))
    try:
        assert load_module(checkout, "helper_mod_x").VALUE == "from the checkout"
        assert str(tmp_path) not in sys.path
    finally:
        sys.modules.pop("helper_mod_x", None)


def experiment(adapter, kind, metric="mAP", repo="/nowhere"):
    return {"baseline": {"name": "upstream", "options": {"adapter": adapter, "repo": repo}},
            "dataset": {"kind": kind, "root": "/nowhere"}, "search": {"epochs": 1}, "reward": {"metric": metric}}


def test_the_builder_checks_adapter_dataset_metric_and_checkout_before_importing_upstream_code():
    with pytest.raises(BaselineError, match=r"`baseline.options.adapter`: expected one of "):
        build_recipe({**experiment("spherereid-coincheung", "market1501"),
                      "baseline": {"name": "upstream", "options": {"repo": "/x"}}}, "cpu")
    with pytest.raises(BaselineError, match=r"`dataset.kind`: adapter cosface-mugglewang runs on casia-webface, got 'market1501'"):
        build_recipe(experiment("cosface-mugglewang", "market1501"), "cpu")
    with pytest.raises(BaselineError, match=r"`reward.metric`: adapter spherereid-coincheung offers mAP, rank1, got 'top1'"):
        build_recipe(experiment("spherereid-coincheung", "market1501", metric="top1"), "cpu")
    with pytest.raises(BaselineError, match=r"/nowhere is not a folder \(expected a checkout of CoinCheung/SphereReID"):
        build_recipe(experiment("spherereid-coincheung", "market1501"), "cpu")


def test_every_adapter_names_its_module_and_files():
    for name, adapter in ADAPTERS.items():
        assert adapter.repo.files and len(adapter.repo.tested_commit) == 40, name
