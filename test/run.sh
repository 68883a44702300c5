#!/usr/bin/env bash
# `npm test`: type check, then unit and end-to-end tests against a farm of 8 real sshd hosts,
# which is always torn down afterwards (set FARM_KEEP=1 to keep it for debugging).
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit || exit 1
bash test/farm/farm.sh up "${FARM_HOSTS:-8}" || exit 1
[ "${FARM_KEEP:-}" = 1 ] || trap 'bash test/farm/farm.sh down >/dev/null' EXIT
node --import tsx --test --test-concurrency=1 test/unit/*.test.ts test/e2e/*.test.ts
