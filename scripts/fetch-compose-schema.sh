#!/usr/bin/env bash
# Fetches the Compose Specification's JSON schema for test/compose.test.ts into the cache
# (.cache/compose-spec/compose-spec.json, or $TRADEWATCH_CACHE_DIR/compose-spec/) and prints its path.
# Source: schema/compose-spec.json of the Go module github.com/compose-spec/compose-go/v2 (the loader Docker Compose
# itself uses), pinned below, downloaded through the Go module proxy and checksum-verified by `go mod download`.
# Fast and silent when the pinned version is already there. Needs: the go command.
set -euo pipefail

COMPOSE_GO_MODULE=github.com/compose-spec/compose-go/v2
COMPOSE_GO_VERSION=v2.16.2

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TRADEWATCH_CACHE_DIR:-$repo_root/.cache}"
out_dir="$cache/compose-spec"
out="$out_dir/compose-spec.json"

if [[ -s "$out" && "$(cat "$out_dir/VERSION" 2>/dev/null)" == "$COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION" ]]; then
  echo "$out"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "fetch-compose-schema: the 'go' command is missing (Debian: apt-get install golang-go); it downloads" \
    "$COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION from the Go module proxy" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A throw-away module cache (-modcacherw: deletable), outside any go.mod.
info="$(cd "$work" && GOMODCACHE="$work/mod" GOFLAGS=-modcacherw GO111MODULE=on \
  go mod download -json "$COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION")" || {
  echo "fetch-compose-schema: 'go mod download $COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION' failed:" >&2
  echo "$info" >&2
  exit 1
}
dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$dir" || ! -s "$dir/schema/compose-spec.json" ]]; then
  echo "fetch-compose-schema: no schema/compose-spec.json in $COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION ($dir)" >&2
  exit 1
fi

mkdir -p "$out_dir"
cp "$dir/schema/compose-spec.json" "$out.tmp"
chmod 644 "$out.tmp"
mv "$out.tmp" "$out"
echo "$COMPOSE_GO_MODULE@$COMPOSE_GO_VERSION" >"$out_dir/VERSION"
echo "$out"
