#!/usr/bin/env bash
# The spec's rotation script: a thin wrapper around `data-collector rotate` (seal, gzip after 3 months,
# archive after 6; see docs/storage.md). Arguments pass through, e.g. --dry-run or --data-dir DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec node "$here/dist/src/cli/main.js" rotate "$@"
