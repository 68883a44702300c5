import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprint, hostKeyCheck, judgeHostKey, keyTypeOf, knownHostName, KnownHostsFiles, parseKnownHosts, patternsMatch, preferredAlgorithms, type HostKeyPolicy } from '../../lib/ssh/known-hosts.ts'

/** A key blob as sshd sends it: the type, then (here random) key bytes. */
function keyBlob(type = 'ssh-ed25519'): Buffer {
  const string = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes])
  return Buffer.concat([string(Buffer.from(type)), string(randomBytes(32))])
}

function hashed(name: string): string {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

test('known_hosts lines are read with their markers; comments and broken lines are skipped', () => {
  const lines = parseKnownHosts(['# a comment', '', 'web1,10.0.0.1 ssh-ed25519 AAAA', '@revoked * ssh-rsa BBBB', 'broken-line', '  @cert-authority *.example.com ssh-rsa CCCC'].join('\n'), 'kh')
  assert.deepEqual(lines, [
    { file: 'kh', line: 3, marker: undefined, patterns: 'web1,10.0.0.1', keyType: 'ssh-ed25519', key: 'AAAA' },
    { file: 'kh', line: 4, marker: 'revoked', patterns: '*', keyType: 'ssh-rsa', key: 'BBBB' },
    { file: 'kh', line: 6, marker: 'cert-authority', patterns: '*.example.com', keyType: 'ssh-rsa', key: 'CCCC' },
  ])
})

test('hosts are named as ssh names them, and matched by plain, hashed, wildcard and negated patterns', () => {
  assert.equal(knownHostName('web1', 22), 'web1')
  assert.equal(knownHostName('web1', 2222), '[web1]:2222')
  // Lower-cased before matching or hashing, as ssh does; an alias stands alone, without the port.
  assert.equal(knownHostName('Web1.Example.com', 22), 'web1.example.com')
  assert.equal(knownHostName('10.0.0.5', 2222, 'Web1'), 'web1')
  assert.equal(patternsMatch('web1,10.0.0.1', 'web1'), true)
  assert.equal(patternsMatch('WEB1', 'web1'), true)
  assert.equal(patternsMatch('web1', '[web1]:2222'), false)
  assert.equal(patternsMatch(hashed('[web1]:2222'), '[web1]:2222'), true)
  assert.equal(patternsMatch(hashed('web1'), 'web2'), false)
  assert.equal(patternsMatch('*.example.com,!db.example.com', 'web.example.com'), true)
  assert.equal(patternsMatch('*.example.com,!db.example.com', 'db.example.com'), false)
  assert.equal(patternsMatch('web?', 'web7'), true)
  assert.equal(patternsMatch('web?', 'web10'), false)
})

test('an offered key is known, unknown, changed (another of its type is recorded) or revoked', () => {
  const key = keyBlob()
  const other = keyBlob()
  const rsa = keyBlob('ssh-rsa')
  assert.equal(keyTypeOf(key), 'ssh-ed25519')
  const lines = parseKnownHosts(`web1 ssh-ed25519 ${key.toString('base64')}\nweb2 ssh-rsa ${rsa.toString('base64')}\n@revoked * ssh-ed25519 ${other.toString('base64')}\n`, 'kh')
  assert.deepEqual(judgeHostKey(lines, 'web1', key), { kind: 'known' })
  assert.deepEqual(judgeHostKey(lines, 'web3', key), { kind: 'unknown' })
  assert.equal(judgeHostKey(lines, 'web1', keyBlob()).kind, 'changed')
  // Only an RSA key on record: whoever offers an ed25519 one instead may hold no RSA key of the host
  // (the host itself is asked for its RSA key first).
  assert.equal(judgeHostKey(lines, 'web2', keyBlob()).kind, 'changed')
  assert.deepEqual(preferredAlgorithms(lines, 'web2')?.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
  assert.equal(preferredAlgorithms(lines, 'web3'), undefined)
  assert.equal(judgeHostKey(lines, 'web1', other).kind, 'revoked')
  assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/)
})

test('accept-new records a new key and then holds the host to it; yes refuses a new key; a changed key is refused, naming the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'known-hosts-'))
  const user = join(dir, 'ssh', 'known_hosts')
  const policy: HostKeyPolicy = { hostname: 'web1', port: 2222, hostKeyChecking: 'accept-new', userKnownHostsFiles: [user], globalKnownHostsFiles: [join(dir, 'missing')] }
  const said: string[] = []
  const key = keyBlob()

  const first = hostKeyCheck(new KnownHostsFiles(), policy, (text) => said.push(text))
  assert.equal(first.verify(key), true)
  // ssh2 asks again at a rekey: the key recorded a moment ago is known, not added twice.
  assert.equal(first.verify(key), true)
  assert.equal(readFileSync(user, 'utf8'), `[web1]:2222 ssh-ed25519 ${key.toString('base64')}\n`)
  assert.deepEqual(said, [`added its host ssh-ed25519 key ${fingerprint(key)} to ${user} (first connection; later ones must offer the same)`])

  // A later run reads the file: the same key passes, another is refused.
  const later = new KnownHostsFiles()
  assert.equal(hostKeyCheck(later, policy, () => assert.fail('nothing to record')).verify(key), true)
  const impostor = keyBlob()
  const check = hostKeyCheck(later, policy, () => assert.fail('nothing to record'))
  assert.equal(check.verify(impostor), false)
  assert.equal(
    check.refusal(),
    `its host key has changed: it offers the ssh-ed25519 key ${fingerprint(impostor)}, while ${user}:1 records another for [web1]:2222; someone may be intercepting the connection, or the host was reinstalled: check, then remove the old key (ssh-keygen -R '[web1]:2222' -f ${user}) and run again`
  )

  const strict = hostKeyCheck(new KnownHostsFiles(), { ...policy, hostname: 'web9', hostKeyChecking: 'yes' }, () => assert.fail('yes records nothing'))
  assert.equal(strict.verify(key), false)
  assert.match(strict.refusal() ?? '', /is in no known_hosts file and StrictHostKeyChecking is yes; check the fingerprint, then add it: ssh-keyscan -p 2222 web9 >> /)
  const asked = hostKeyCheck(new KnownHostsFiles(), { ...policy, hostname: 'web9', hostKeyChecking: 'ask' }, () => assert.fail('ask records nothing'))
  assert.equal(asked.verify(key), false)
  assert.match(asked.refusal() ?? '', /is in no known_hosts file and StrictHostKeyChecking is ask, and a run asks nothing mid-way; check the fingerprint, then add it: ssh-keyscan -p 2222 web9 >> /)
  assert.equal(hostKeyCheck(new KnownHostsFiles(), { ...policy, hostKeyChecking: 'no' }, () => {}).verify(impostor), true)

  // A last line without its newline: the new key still goes on a line of its own.
  const ragged = join(dir, 'ragged')
  writeFileSync(ragged, `web7 ssh-ed25519 ${keyBlob().toString('base64')}`)
  assert.equal(hostKeyCheck(new KnownHostsFiles(), { ...policy, hostname: 'web8', port: 22, userKnownHostsFiles: [ragged] }, () => {}).verify(key), true)
  assert.deepEqual(readFileSync(ragged, 'utf8').split('\n').map((line) => line.split(' ')[0]), ['web7', 'web8', ''])

  // A file that cannot be written is said, and the connection goes on, as with ssh.
  const warned: string[] = []
  const unwritable = hostKeyCheck(new KnownHostsFiles(), { ...policy, userKnownHostsFiles: [join(ragged, 'known_hosts')] }, (text, level) => warned.push(`${level}: ${text}`))
  assert.equal(unwritable.verify(key), true)
  assert.match(warned[0] ?? '', /^warn: could not add its host ssh-ed25519 key SHA256:\S+ to .*ragged\/known_hosts \(.*\); it is accepted for this run only$/)

  // A mixed-case name matches its hashed line: an impostor's key is a change, not a new host.
  const hashedFile = join(dir, 'hashed')
  writeFileSync(hashedFile, `${hashed('web1.example.com')} ssh-ed25519 ${key.toString('base64')}\n`)
  const mixed = hostKeyCheck(new KnownHostsFiles(), { ...policy, hostname: 'Web1.Example.com', port: 22, userKnownHostsFiles: [hashedFile] }, () => assert.fail('nothing to add'))
  assert.equal(mixed.verify(key), true)
  assert.equal(mixed.verify(impostor), false)

  // HashKnownHosts: the added line names its host hashed, and matches it.
  const hashedAdded = join(dir, 'hashed-added')
  assert.equal(hostKeyCheck(new KnownHostsFiles(), { ...policy, userKnownHostsFiles: [hashedAdded], hashKnownHosts: true }, () => {}).verify(key), true)
  const [added] = parseKnownHosts(readFileSync(hashedAdded, 'utf8'), hashedAdded)
  assert.match(added?.patterns ?? '', /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/)
  assert.equal(patternsMatch(added?.patterns ?? '', '[web1]:2222'), true)

  // The global file counts too, and /dev/null takes nothing.
  const global = join(dir, 'global')
  writeFileSync(global, `web5 ssh-ed25519 ${key.toString('base64')}\n`)
  const viaGlobal = hostKeyCheck(new KnownHostsFiles(), { ...policy, hostname: 'web5', port: 22, userKnownHostsFiles: ['/dev/null'], globalKnownHostsFiles: [global] }, () => assert.fail('known'))
  assert.equal(viaGlobal.verify(key), true)
  assert.equal(viaGlobal.verify(impostor), false)
})
