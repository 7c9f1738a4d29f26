#!/usr/bin/env bash
# Prepares the offline RustSec advisory database for `cargo deny` (see deny.toml, db-path).
#
# The snapshot lives in ../shared/advisory-db (a plain folder, no network needed); cargo-deny
# reads a git checkout under a folder name derived from the database URL, so this copies the
# snapshot into target/advisory-db/advisory-db-3157b0e258782691 and commits it there.
# Idempotent: an existing checkout is replaced, so a newer snapshot is always picked up.
# Usage: scripts/advisory-db.sh [SNAPSHOT_DIR]   (default ../shared/advisory-db)
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot=${1:-../shared/advisory-db}
if [ ! -d "$snapshot/crates" ]; then
  echo "advisory-db: no snapshot at $snapshot (expected $snapshot/crates)" >&2
  exit 1
fi
db=target/advisory-db/advisory-db-3157b0e258782691
rm -rf "$db"
mkdir -p "$db"
cp -r "$snapshot/crates" "$db"/
git -C "$db" init -q
git -C "$db" add -A
git -C "$db" -c user.name=ci -c user.email=ci@localhost -c commit.gpgsign=false \
  commit -qm "advisory-db snapshot from $snapshot"
echo "advisory-db: $(find "$db/crates" -name '*.md' | wc -l) advisories in $db"
