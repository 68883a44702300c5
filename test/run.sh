#!/usr/bin/env bash
# `npm test`: type check, then unit and end-to-end tests against a farm of 8 real sshd hosts,
# which is always torn down afterwards (set FARM_KEEP=1 to keep it for debugging; FARM_TESTS=FILES
# runs only those test files, as `npm run test:faults` does).
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit || exit 1
bash test/farm/farm.sh up "${FARM_HOSTS:-8}" || exit 1
[ "${FARM_KEEP:-}" = 1 ] || trap 'bash test/farm/farm.sh down >/dev/null' EXIT
# shellcheck disable=SC2086 # FARM_TESTS is a list of files
node --import tsx --test --test-concurrency=1 ${FARM_TESTS:-test/unit/*.test.ts test/e2e/*.test.ts}
