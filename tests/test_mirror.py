"""The loopback Hub mirror, driven by the real huggingface_hub client over HTTP."""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from scrapers.faults import Fault, FaultPlan, parse_fault
from scrapers.mirror import git_blob_sha, serve_in_thread
from tests.conftest import corpus_configs


def _repo(root: Path, repo_id: str, config: dict[str, Any] | None, **hub: Any) -> Path:
    folder = root / repo_id
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if hub:
        (folder / "hub.json").write_text(json.dumps(hub), encoding="utf-8")
    return folder


@pytest.fixture(name="tree")
def tree_fixture(tmp_path: Path) -> Path:
    """A small Hub-like folder with metadata, a gated, a private and a config-less repo."""
    root = tmp_path / "hub"
    _repo(root, "acme/alpha", {"model_type": "llama"}, downloads=30, likes=1, tags=["llama"])
    _repo(root, "acme/beta", {"model_type": "qwen2"}, downloads=10, likes=9, pipeline_tag="tg")
    _repo(root, "other/gamma-7b", {"model_type": "llama"}, downloads=20, tags=["llama", "x"])
    _repo(root, "other/locked", {"model_type": "llama"}, gated="manual")
    _repo(root, "other/secret", {"model_type": "llama"}, private=True)
    (root / "acme" / "nocfg").mkdir(parents=True)
    (root / "acme" / "nocfg" / "README.md").write_text("no config here", encoding="utf-8")
    return root


def _api(url: str, token: str | bool = False) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=url, token=token)


def test_listing_pages_through_the_whole_corpus_with_absolute_links(hub_tree: Path) -> None:
    expected = sorted(repo_id for repo_id, _ in corpus_configs())
    with serve_in_thread(hub_tree, page_size=50) as (server, url):
        listed = [m.id for m in _api(url).list_models(expand=["sha", "lastModified"])]
        pages = server.counts["list"]
        import httpx2

        first = httpx2.get(f"{url}/api/models", params={"limit": 50})
    assert sorted(listed) == expected
    assert pages == math.ceil(len(expected) / 50)
    assert first.headers["Link"].startswith(f"<{url}/api/models?")
    assert first.headers["Link"].endswith('>; rel="next"')


def test_listing_filters_sorts_and_limits(tree: Path) -> None:
    with serve_in_thread(tree) as (_server, url):
        api = _api(url)
        by_author = {m.id for m in api.list_models(author="acme")}
        by_search = {m.id for m in api.list_models(search="GAMMA")}
        by_tag = {m.id for m in api.list_models(filter="llama")}
        by_task = {m.id for m in api.list_models(pipeline_tag="tg")}
        top = [m.id for m in api.list_models(sort="downloads", limit=2)]
        gated = {m.id for m in api.list_models(gated=True)}
    assert by_author == {"acme/alpha", "acme/beta", "acme/nocfg"}
    assert by_search == {"other/gamma-7b"}
    assert by_tag == {"acme/alpha", "other/gamma-7b", "other/locked"}
    assert by_task == {"acme/beta"}
    assert top == ["acme/alpha", "other/gamma-7b"]
    assert gated == {"other/locked"}


def test_expand_returns_only_what_was_asked(tree: Path) -> None:
    from huggingface_hub.errors import BadRequestError

    with serve_in_thread(tree) as (_server, url):
        import httpx2

        rows = httpx2.get(f"{url}/api/models", params={"expand": ["sha", "likes"]}).json()
        with pytest.raises(BadRequestError):
            list(_api(url).list_models(expand=["safetensors"]))
    assert rows and all(set(r) == {"_id", "id", "sha", "likes"} for r in rows)


def test_model_info_and_revisions(tree: Path) -> None:
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    with serve_in_thread(tree) as (_server, url):
        api = _api(url)
        info = api.model_info("acme/alpha")
        pinned = api.model_info("acme/alpha", revision=info.sha)
        with pytest.raises(RevisionNotFoundError):
            api.model_info("acme/alpha", revision="0" * 40)
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("acme/missing")
    assert info.sha is not None and len(info.sha) == 40
    assert pinned.sha == info.sha
    assert info.downloads == 30 and info.tags == ["llama"]
    assert [s.rfilename for s in info.siblings or []] == ["config.json"]


def test_hf_hub_download_pins_to_the_commit(tree: Path, tmp_path: Path) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    raw = (tree / "acme/alpha/config.json").read_bytes()
    with serve_in_thread(tree) as (server, url):
        sha = _api(url).model_info("acme/alpha").sha
        assert sha is not None
        meta = get_hf_file_metadata(hf_hub_url("acme/alpha", "config.json", endpoint=url))
        path = hf_hub_download(
            "acme/alpha", "config.json", revision=sha, endpoint=url, cache_dir=tmp_path / "c"
        )
        again = hf_hub_download(
            "acme/alpha", "config.json", revision=sha, endpoint=url, cache_dir=tmp_path / "c"
        )
        gets = server.downloads()
    assert meta.commit_hash == sha
    assert meta.etag == git_blob_sha(raw)
    assert meta.size == len(raw)
    assert Path(path).read_bytes() == raw and again == path
    assert f"/snapshots/{sha}/" in path
    assert gets == 1  # the second call is answered from the cache


@pytest.mark.parametrize(
    ("repo_id", "filename", "revision", "error"),
    [
        ("acme/missing", "config.json", "main", "RepositoryNotFoundError"),
        ("acme/nocfg", "config.json", "main", "EntryNotFoundError"),
        ("acme/alpha", "config.json", "f" * 40, "RevisionNotFoundError"),
        ("other/locked", "config.json", "main", "GatedRepoError"),
        ("other/secret", "config.json", "main", "RepositoryNotFoundError"),
    ],
)
def test_hub_error_codes_become_the_clients_typed_errors(
    tree: Path, tmp_path: Path, repo_id: str, filename: str, revision: str, error: str
) -> None:
    from huggingface_hub import errors, hf_hub_download

    with serve_in_thread(tree) as (_server, url), pytest.raises(getattr(errors, error)):
        hf_hub_download(repo_id, filename, revision=revision, endpoint=url, cache_dir=tmp_path)


def test_gated_answers_401_anonymous_403_unknown_token_and_serves_allowed_tokens(
    tree: Path, tmp_path: Path
) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    statuses = []
    with serve_in_thread(tree, tokens=["hf_allowed"]) as (server, url):
        for token in (False, "hf_wrong"):
            with pytest.raises(GatedRepoError):
                hf_hub_download(
                    "other/locked", "config.json", endpoint=url, token=token, cache_dir=tmp_path
                )
            statuses.append(server.requests[-1].status)
        path = hf_hub_download(
            "other/locked", "config.json", endpoint=url, token="hf_allowed", cache_dir=tmp_path
        )
        private = {m.id for m in _api(url, "hf_allowed").list_models()}
        public = {m.id for m in _api(url).list_models()}
    assert statuses == [401, 403]
    assert json.loads(Path(path).read_text()) == {"model_type": "llama"}
    assert "other/secret" in private and "other/secret" not in public


def test_editing_a_file_is_a_new_commit_and_hub_json_sha_wins(tree: Path) -> None:
    with serve_in_thread(tree) as (_server, url):
        api = _api(url)
        before = api.model_info("acme/beta").sha
        (tree / "acme/beta/config.json").write_text('{"model_type": "qwen3"}', encoding="utf-8")
        after = api.model_info("acme/beta").sha
        _repo(tree, "acme/beta", None, sha="a" * 40)
        pinned = api.model_info("acme/beta").sha
    assert before != after
    assert pinned == "a" * 40


def _raw_get(url: str, path: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status


def test_no_path_outside_the_folder_is_ever_served(tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    os.symlink(secret, tree / "acme/alpha/leak.json")
    os.symlink(tmp_path, tree / "acme" / "linked")
    shutil.copyfile(secret, tree / "acme/alpha/.hidden")
    paths = [
        "/acme/alpha/resolve/main/../../../secret.txt",
        "/acme/alpha/resolve/main/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/acme/alpha/resolve/main/leak.json",
        "/acme/linked/resolve/main/secret.txt",
        "/../../secret.txt/resolve/main/x",
        "/acme/alpha/resolve/main/hub.json",
        "/api/models/acme/..%2f..%2fsecret.txt",
    ]
    with serve_in_thread(tree) as (_server, url):
        statuses = [_raw_get(url, p) for p in paths]
        ok = _raw_get(url, "/acme/alpha/resolve/main/config.json")
    assert ok == 200
    assert all(s in (400, 401, 404) for s in statuses), statuses


def test_binds_to_loopback_by_default(tree: Path) -> None:
    with serve_in_thread(tree) as (server, url):
        assert server.server_address[0] == "127.0.0.1"
        assert url.startswith("http://127.0.0.1:")


def test_fault_spec_parsing() -> None:
    assert parse_fault("503:rate=0.25") == Fault("status", status=503, rate=0.25)
    assert parse_fault("429:retry-after=3:kind=get") == Fault(
        "ratelimit", retry_after=3, kind="get"
    )
    assert parse_fault("drop:repo=a/b:times=2") == Fault("drop", repo="a/b", times=2)
    for bad in ("200", "explode", "503:colour=red", "503:rate=2", "drop:kind=upload"):
        with pytest.raises(ValueError):
            parse_fault(bad)


def test_ratelimit_headers_are_the_hubs(tree: Path) -> None:
    import httpx2
    from huggingface_hub.utils import parse_ratelimit_headers

    plan = FaultPlan(faults=[Fault("ratelimit", retry_after=7, kind="get", times=1)])
    with serve_in_thread(tree, faults=plan) as (_server, url):
        first = httpx2.get(f"{url}/acme/alpha/resolve/main/config.json")
        second = httpx2.get(f"{url}/acme/alpha/resolve/main/config.json")
    info = parse_ratelimit_headers(first.headers)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert info is not None and (info.remaining, info.reset_in_seconds) == (0, 7)
    assert (info.resource_type, info.limit, info.window_seconds) == ("resolvers", 3000, 300)
    assert second.status_code == 200


@pytest.mark.parametrize("action", ["drop", "truncate"])
def test_broken_connections_reach_the_client(tree: Path, action: str) -> None:
    import httpx2

    plan = FaultPlan(faults=[Fault(action, kind="get")])
    with serve_in_thread(tree, faults=plan) as (_server, url):
        with pytest.raises(httpx2.TransportError):
            httpx2.get(f"{url}/acme/alpha/resolve/main/config.json")
        head = httpx2.head(f"{url}/acme/alpha/resolve/main/config.json")
    assert head.status_code == 200  # the fault was limited to GET


def test_the_mirror_command_serves_a_folder(tree: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ROPEDEX_MIRROR_TOKENS": "hf_a,hf_b"}
    cmd = [sys.executable, "-m", "registry", "mirror", str(tree), "--fault", "503:times=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ", 1)[1].split()[0]
        ids = {m.id for m in _api(url, "hf_b").list_models()}  # the 503 is retried by the client
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=10)
    assert url.startswith("http://127.0.0.1:")
    assert "other/secret" in ids and "acme/alpha" in ids
    assert "503 GET /api/models" in err and "200 GET /api/models" in err
    assert "hf_b" not in err


def test_the_mirror_command_rejects_a_bad_fault(tree: Path) -> None:
    from click.testing import CliRunner

    from registry.cli import cli

    result = CliRunner().invoke(cli, ["mirror", str(tree), "--fault", "explode"])
    assert result.exit_code == 2 and "unknown fault action" in result.output
