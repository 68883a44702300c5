import { set, fetch, task, on, roles, namespace } from 'murder'

set('application', 'demo')

namespace('demo', () => {
  task('hello', { desc: 'Say hello from every app host', roles: 'app' }, async ({ hosts }) => {
    await on(hosts, async (remote) => {
      await remote.run(['echo', `hello from ${remote.host.name} for ${fetch('application')}`])
      await remote.run('hostname; uname -r')
    })
  })
})
