"""A user's checkout of an upstream repository: checked, its commit read, its files imported as
its own scripts import them, without editing anything in it.

Upstream training code is written as scripts run from the repository's folder: its files import
each other by plain module name (``from backbone import Network_D``), and some do work at import
(parse ``sys.argv``, create folders, configure logging). :func:`load_module` imports a file with
the checkout first on ``sys.path``; :func:`function_from_source` takes one top-level function of a
script whose import has side effects, compiled from the script's own text.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping, Optional, Tuple

from ..baselines.errors import BaselineError

log = logging.getLogger("amlfs.upstream")


@dataclass(frozen=True)
class UpstreamRepo:
    """The repository an adapter drives: ``name`` (``owner/repo``), the commit it was tested at,
    its public address and the files a checkout must have for the adapter to run."""

    name: str
    tested_commit: str
    url: str
    files: Tuple[str, ...]


def git_commit(root: Path) -> Optional[str]:
    """The commit checked out at ``root``: ``.git`` (a folder, or a worktree's ``gitdir:`` file; the
    branch ref loose or packed) or, for a snapshot without history, a ``COMMIT`` file. None if neither says."""
    dot_git = root / ".git"
    git_dir: Optional[Path] = None
    if dot_git.is_dir():
        git_dir = dot_git
    elif dot_git.is_file():
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            git_dir = (root / text[len("gitdir:"):].strip()).resolve()
    if git_dir is not None and (git_dir / "HEAD").is_file():
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head[len("ref:"):].strip()
        for base in _git_dirs(git_dir):
            loose = base / ref
            if loose.is_file():
                return loose.read_text(encoding="utf-8").strip() or None
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        return parts[0]
        return None
    commit_file = root / "COMMIT"
    if commit_file.is_file():
        words = commit_file.read_text(encoding="utf-8").split()
        return words[0] if words else None
    return None


def _git_dirs(git_dir: Path) -> Iterable[Path]:
    """``git_dir`` and, for a linked worktree, the main repository's git folder (``commondir``)."""
    yield git_dir
    common = git_dir / "commondir"
    if common.is_file():
        yield (git_dir / common.read_text(encoding="utf-8").strip()).resolve()


@dataclass(frozen=True)
class Checkout:
    """A checked checkout: its ``root`` and the ``commit`` found there (None: unknown)."""

    repo: UpstreamRepo
    root: Path
    commit: Optional[str]

    @property
    def tested(self) -> bool:
        return self.commit is not None and self.commit.startswith(self.repo.tested_commit)


def open_checkout(repo: UpstreamRepo, path: Optional[str], where: str = "baseline.options.repo") -> Checkout:
    """The checkout at ``path``: a folder with ``repo.files``. A commit other than the tested one is
    logged as a warning naming both; a missing folder or file is a :class:`BaselineError` at ``where``."""
    if path is None:
        raise BaselineError(f"`{where}`: expected the folder of a checkout of {repo.name} ({repo.url}, tested at "
                            f"{repo.tested_commit[:12]}), got null")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise BaselineError(f"`{where}`: {path} is not a folder (expected a checkout of {repo.name}, {repo.url})")
    missing = [name for name in repo.files if not (root / name).is_file()]
    if missing:
        raise BaselineError(f"`{where}`: {path} is not a checkout of {repo.name}: missing {', '.join(missing)} "
                            f"(expected {', '.join(repo.files)})")
    checkout = Checkout(repo, root.resolve(), git_commit(root))
    if checkout.commit is None:
        log.warning("%s: cannot tell which commit %s is (no .git or COMMIT); the adapter was tested at %s",
                    repo.name, root, repo.tested_commit)
    elif not checkout.tested:
        log.warning("%s: %s is at commit %s; the adapter was tested at %s", repo.name, root, checkout.commit,
                    repo.tested_commit)
    return checkout


def _inside(module: ModuleType, root: Path) -> bool:
    """Whether ``module`` (a file, or a package's folders) was imported from under ``root`` (links not
    followed: a checkout may be a tree of symlinks)."""
    paths = [getattr(module, "__file__", None) or ""] + list(getattr(module, "__path__", None) or [])
    return any(p and root in Path(os.path.abspath(p)).parents for p in paths)


@contextlib.contextmanager
def on_path(checkout: Checkout, family: Iterable[str] = ()):
    """The checkout first on ``sys.path`` for the block (so its files' ``import`` statements find
    their siblings), after evicting every module named in ``family`` (top-level names: ``data``,
    ``model``; with their submodules) that was imported from elsewhere."""
    names = set(family)
    for key in [k for k in sys.modules if k.split(".")[0] in names]:
        if not _inside(sys.modules[key], checkout.root):
            del sys.modules[key]
    root = str(checkout.root)
    sys.path.insert(0, root)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(root)


def load_module(checkout: Checkout, name: str, family: Iterable[str] = ()) -> ModuleType:
    """The checkout's module ``name`` (``backbone``, or dotted: ``model.mgn``), imported under its plain
    name as the repository's own scripts import it, inside :func:`on_path` (``family`` and ``name``'s
    top-level name evicted when imported from elsewhere); an import error names what failed."""
    with on_path(checkout, {name.split(".")[0], *family}):
        try:
            return importlib.import_module(name)
        except ImportError as error:
            raise BaselineError(f"{checkout.repo.name}: importing {name} from {checkout.root} failed: {error} "
                                "(the upstream adapters need torchvision and the repository's other imports in "
                                "the workers' Python: `make upstream-venv`, then "
                                "AMLFS_PYTHON=.venv-upstream/bin/python)") from error


def function_from_source(checkout: Checkout, file: str, name: str, namespace: Mapping[str, Any]) -> Any:
    """The top-level function or class ``name`` of the checkout's ``file``, compiled from the file's own
    text alone (nothing else of the file runs) with ``namespace`` as its globals (what it refers to)."""
    path = checkout.root / file
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name]
    if not found:
        raise BaselineError(f"{checkout.repo.name}: {path} has no top-level function or class {name}")
    module = ast.Module(body=[found[0]], type_ignores=[])
    scope = dict(namespace)
    exec(compile(module, str(path), "exec"), scope)  # noqa: S102 (the user's checkout, one definition)
    return scope[name]
