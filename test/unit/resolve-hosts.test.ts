import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Inventory } from '../../lib/inventory/inventory.ts'
import { resolveHosts } from '../../lib/runner/resolve-hosts.ts'

function inventory(): Inventory {
  const hosts = new Inventory()
  hosts.server('web1', { roles: ['web'] })
  hosts.server('web2', { roles: ['web'] })
  return hosts
}

test('on() takes hosts, or the names of declared servers, alone or in a list, in the order given', () => {
  const hosts = inventory()
  const [web1, web2] = hosts.all()
  assert.deepEqual(resolveHosts(hosts, 'web2'), [web2])
  assert.deepEqual(resolveHosts(hosts, ['web2', web1 as NonNullable<typeof web1>]), [web2, web1])
  assert.deepEqual(resolveHosts(hosts, []), [])
})

test('on() given a name no server has, or something not a host, says what it takes', () => {
  const hosts = inventory()
  assert.throws(() => resolveHosts(hosts, ['web1', 'web3']), {
    name: 'UsageError',
    message: `on(): no server is named "web3" (declared: web1, web2); name a declared server or pass roles('ROLE').`,
  })
  assert.throws(() => resolveHosts(new Inventory(), 'web1'), /no server is named "web1" \(none is declared \(give a stage, or call server\(\)\)\)/)
  assert.throws(() => resolveHosts(hosts, [5 as unknown as string]), {
    message: `on(): number 5 is not a host; pass roles('ROLE'), a host from server(), or a server's name.`,
  })
  assert.throws(() => resolveHosts(hosts, [undefined as unknown as string]), /on\(\): undefined is not a host/)
})
