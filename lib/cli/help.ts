import { DEFAULT_CONCURRENCY } from '../runner/session.ts'
import { DEFAULT_TRANSFER_CONCURRENCY } from '../ssh/ssh-backend.ts'

export function helpText(): string {
  return `Usage: deploy [STAGE] TASK [TASK...] [key=value...] [options]
       deploy [STAGE] -T [PATTERN]
       deploy install [STAGES=staging,production]   write a deployfile and stage files to start from
       deploy STAGE doctor                          show the stage's variables and servers

Runs tasks from deployfile.ts (found in the current directory or its parents),
from its directory. STAGE names roles/STAGE.yaml; key=value words set variables
(tag=Deploy1) and environment variables; among them, for any run:
  max_fail=N|P%           carry on past up to N (or P% of) failed hosts
  ssh_connect_timeout=S   seconds a connection attempt may take (default 10)
  ssh_persistent_shell=0  one SSH session per command, no long-lived shell
  transfer_concurrency=N  at most N uploads and downloads at once (default ${DEFAULT_TRANSFER_CONCURRENCY})

Options:
  -T, --tasks             list tasks with their descriptions (filtered by PATTERN)
  -n, --dry-run           print each host's commands and the tasks' local ones;
                          connect to nothing, change nothing
  -r, --roles LIST        only hosts with these roles (comma-separated, /regex/ allowed); also ROLES=
  -z, --hosts LIST        only these hosts (comma-separated, /regex/ allowed); also HOSTS=
  -c, --concurrency N     at most N hosts work at once (default ${DEFAULT_CONCURRENCY})
  -f, --file PATH         use this deployfile
      --waves LIST        deploy: swap current wave by wave, e.g. 1,10%,100%
  -v, --verbose           also show connections, captured commands, local $ output
                          and timings
  -q, --quiet             only warnings, errors, what was published and the summary
  -V, --version           print the version
  -h, --help              print this help

Exit status: 0 success, 1 a task failed, 2 usage or configuration error, 75 the deploy
lock is held by another deploy (retry later), 130 Ctrl-C,
143 SIGTERM, 129 SIGHUP (each stops the remote work and cleans up first, as Ctrl-C does).`
}
