"""Pinned runtime archives, downloaded once with pip and kept outside the repository.

`package_dir("vllm==0.33.0")` downloads the wheel with `pip download --no-deps` (or the sdist
with `sdist=True`) into the cache, extracts only its Python sources (and, for an sdist, the
members a test names), and returns the folder to put on `sys.path`. Nothing is installed. The
cache is `$ROPEDEX_ORACLE_CACHE`, else `~/.cache/ropedex-oracles`; a finished extraction is marked
with a stamp file, so an interrupted one is redone and a finished one costs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

STAMP = ".extracted"


def cache_root() -> Path:
    env = os.environ.get("ROPEDEX_ORACLE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ropedex-oracles"


def _download(spec: str, dest: Path, *, sdist: bool) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    found = _archives(dest)
    if found:
        return found[0]
    # An sdist: only this project from source (pip still prepares its metadata, in an isolated
    # build environment with the build backend's own wheels; `:all:` would build those too).
    name = spec.split("==")[0]
    kind = ["--no-binary", name] if sdist else ["--only-binary", ":all:", "--no-build-isolation"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *kind]
    cmd += ["-q", "-d", str(dest), spec]
    subprocess.run(cmd, check=True, timeout=1800)
    found = _archives(dest)
    if not found:
        raise RuntimeError(f"pip download {spec} left no archive in {dest}")
    return found[0]


def _archives(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".whl", ".gz", ".zip"))


def _python_only(name: str) -> bool:
    return name.endswith(".py") and "/tests/" not in f"/{name}"


def package_dir(
    spec: str,
    *,
    sdist: bool = False,
    keep: Callable[[str], bool] = _python_only,
) -> Path:
    """Folder holding the extracted sources of `spec` (e.g. "sglang==0.5.23").

    `keep` picks the archive members to extract by their path inside the archive (default:
    Python files outside test folders). For an sdist the returned folder is the archive's top
    directory.
    """
    root = cache_root() / spec.replace("==", "-")
    out = root / "src"
    if (out / STAMP).is_file():
        return _top(out, sdist)
    archive = _download(spec, root / "archive", sdist=sdist)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if keep(name) and _safe(name):
                    zf.extract(name, out)
    else:
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers() if m.isfile() and keep(m.name) and _safe(m.name)]
            tf.extractall(out, members=members, filter="data")
    (out / STAMP).write_text(spec + "\n")
    return _top(out, sdist)


def _safe(name: str) -> bool:
    return not name.startswith("/") and ".." not in Path(name).parts


def _top(out: Path, sdist: bool) -> Path:
    if not sdist:
        return out
    tops = [p for p in out.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else out
