#!/usr/bin/env bash
# Rebuild the committed catalog.db from the corpus: lay the corpus out as a Hub-like tree, serve
# it with the loopback mirror, run the nightly job against the mirror with the real Hub client,
# then publish a copy without the raw config texts.
#   usage: docs/deploy/rebuild-catalog.sh [CORPUS_DIR]   (default ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${1:-../shared/corpus}
bin=${ROPEDEX:-.venv/bin/ropedex}
work=$(mktemp -d)
mirror_pid=
cleanup() { [ -n "$mirror_pid" ] && kill "$mirror_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" hubtree "$corpus" "$work/hub"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" mirror "$work/hub" --port "$port" >"$work/mirror.log" 2>&1 &
mirror_pid=$!
for _ in $(seq 100); do
  .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/api/models?limit=1')" 2>/dev/null && break
  sleep 0.1
done
"$bin" --db "$work/work.db" nightly --follow docs/deploy/corpus-follow.toml \
  --endpoint "http://127.0.0.1:$port" --no-cache --out "$work/site"
"$bin" --db "$work/work.db" publish-db catalog.db
