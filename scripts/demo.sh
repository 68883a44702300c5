#!/usr/bin/env bash
# `npm run demo`: a farm of 8 real sshd hosts (100 Mbit links), then this repository's example
# deployfile.ts deploys the repo's HEAD to all of them through the murder swarm, twice, and rolls
# back once. The farm stays up to explore (`npx deploy farm -T`); `npm run farm:down` ends it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/farm/farm.sh up "${DEMO_HOSTS:-8}" --rate "${DEMO_RATE:-100mbit}"
npx deploy farm demo:hello
npx deploy farm deploy allow_dirty=1
npx deploy farm deploy allow_dirty=1
npx deploy farm demo:releases
npx deploy farm deploy:rollback
npx deploy farm demo:releases
echo
echo "The farm is still up: try 'npx deploy farm -T', 'npx deploy farm deploy --waves 1,50%,100%', 'npm run farm:down'."
