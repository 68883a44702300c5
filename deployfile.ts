// The example deployfile, aimed at the local farm (`npm run farm:up`, then `npx deploy farm …`).
// `deploy farm deploy` ships this repository's committed HEAD to every host through the murder
// swarm into /var/www/murder-demo/releases/TIMESTAMP and swaps `current` atomically.
import { fetch, on, roles, set, task, namespace } from 'murder'

set('application', 'murder-demo')
set('keep_releases', 3)
set('linked_dirs', ['log'])

namespace('demo', () => {
  task('hello', { desc: 'Say hello from every app host', roles: 'app' }, async ({ hosts }) => {
    await on(hosts, async (remote) => {
      await remote.run(['echo', `hello from ${remote.host.name}, deploying ${String(fetch('application'))}`])
    })
  })

  task('releases', { desc: 'Show where current points and which releases each host keeps' }, async () => {
    const deployTo = String(fetch('deploy_to'))
    await on(roles(), async (remote) => {
      const current = await remote.capture(`readlink ${deployTo}/current || echo '(none)'`)
      const releases = await remote.capture(`ls ${deployTo}/releases | tr '\\n' ' '`)
      await remote.run(['echo', `current -> ${current}; releases: ${releases}`])
    })
  })
})

// A health check run on each wave of `deploy --waves …` before the next wave switches.
task('deploy:verify', async () => {
  const deployTo = String(fetch('deploy_to'))
  await on(roles('app'), async (remote) => {
    await remote.run(['test', '-f', `${deployTo}/current/package.json`])
  })
})
