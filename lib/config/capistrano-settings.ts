// Capistrano settings a migrating deployfile brings along that murder does not use: set, each would
// change nothing without a word (a repo_url the servers never clone), so the run says so, once.

const GIT = 'murder deploys a `git archive` of the local repository (branch=, or release_source=), not a clone on the servers'

/** Capistrano's variable → why murder leaves it alone and what to use instead. */
const UNUSED: Readonly<Record<string, string>> = {
  repo_url: GIT,
  repo_tree: `${GIT}; a subdirectory goes as release_source=DIR`,
  repo_path: GIT,
  scm: GIT,
  git_shallow_clone: GIT,
  git_wrapper_path: GIT,
  git_environmental_variables: GIT,
  git_keep_meta: GIT,
  ssh_options: "SSH settings come from ssh_config (the stage file's ssh_config:, else ~/.ssh/config) and each server's user and port",
  format: 'output is set with -v / -q',
  format_options: 'output is set with -v / -q (and NO_COLOR)',
  log_level: 'output is set with -v / -q',
  pty: 'commands run without a pseudo-terminal',
  revision_log_message: "revisions.log gets Capistrano's default line, which rollbacks and deploys read to tell published releases",
  default_run_options: "it is Capistrano 2's",
}

/** Values that ask for what murder does anyway: nothing to say. */
const AS_MURDER_DOES: Readonly<Record<string, unknown>> = { pty: false }

/** One warning line per Capistrano setting the run has (`valueOf` undefined: unset) that murder does not use. */
export function unusedCapistranoSettings(valueOf: (name: string) => unknown): string[] {
  return Object.entries(UNUSED)
    .filter(([name]) => valueOf(name) !== undefined && valueOf(name) !== AS_MURDER_DOES[name])
    .map(([name, why]) => `${name} is Capistrano's and murder does not use it: ${why}`)
}
