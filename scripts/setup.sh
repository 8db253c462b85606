#!/usr/bin/env bash
# Installs what this repo needs on a Debian/Ubuntu machine and is a no-op when it is all
# there: ffmpeg and PocketSphinx (the offline engine) from Debian, a local PostgreSQL and
# RabbitMQ where there is no Docker engine, pnpm through corepack, the workspace's npm
# packages, and the build (so the CLI, `pnpm stack` and `pnpm demo` start at once).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the web UI test drives a real browser (playwright-core, no browser download).
debs=(ffmpeg pocketsphinx pocketsphinx-en-us pocketsphinx-testdata chromium)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL and RabbitMQ for the tests, `pnpm stack` and `pnpm demo`: nothing with a
# Docker engine, else the servers answering locally, else Debian's packages, installed and
# started (see that script).
bash scripts/install-services.sh

# pnpm at the exact version in package.json's packageManager. Corepack's signature check
# fails behind some registries ("No compatible signature found"); the version is pinned
# and the lockfile carries integrity hashes, so skipping that check is safe here.
export COREPACK_INTEGRITY_KEYS=0
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$want" ]; then
  corepack enable 2>/dev/null || true
  if [ "$(pnpm --version 2>/dev/null)" != "$want" ]; then
    npm install -g "pnpm@$want" >/dev/null 2>&1
  fi
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build >/dev/null

# The k8s/ tests render the overlays with kustomize 5 (kubectl ≥ 1.27 has it built in).
# Debian bookworm's kubernetes-client (1.20, kustomize 2) is too old to render them, and
# no registry reachable here ships a newer one, so this can only check and say so.
kustomize_version=$( (kustomize version 2>/dev/null || kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p') | head -1)
case "$kustomize_version" in
  v5* | v6*) ;;
  *) echo "setup: warning: kustomize 5 not found (kubectl ≥ 1.27 or kustomize); the k8s tests will fail" >&2 ;;
esac
echo "setup: ok (pnpm $(pnpm --version), $(ffmpeg -version | head -1 | cut -d' ' -f1-3))"
