#!/usr/bin/env bash
# Starts the collector in the PM2 daemon that runs the miner, and saves the app list for reboots.
# The operator's own pm2 when one is on PATH: its version is the running daemon's, so nothing prints
# "In-memory PM2 is out-of-date, do: pm2 update" (pm2 update restarts every app, the miner too).
# The project's pm2 (npx) only when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v pm2 >/dev/null 2>&1; then pm2=(pm2); else pm2=(npx --no-install pm2); fi
"${pm2[@]}" start ecosystem.config.js
"${pm2[@]}" save
