/**
 * Only the master's owner can steer it: another uid connecting to the control socket is
 * refused by the kernel (mode 0600), even where it can reach the socket's directory.
 * Needs root (to run a client as `nobody`) and runuser; elsewhere it says why it cannot run.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { cliFixture, start, tempDir } from './support/troupe-cli.ts'

const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => fs.existsSync(p))
const why =
  process.getuid?.() !== 0
    ? 'it must run as root to connect as another user'
    : runuser === undefined
      ? 'runuser is not installed'
      : undefined
if (why) console.log(`control.owner.test.ts: not run here: ${why}`)

/** A directory `nobody` can enter and read. */
const openDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-owner-'))
  fs.chmodSync(dir, 0o755)
  return dir
}

/** A node binary `nobody` can run: this one, or a copy of it where its directory is closed to others. */
const nodeForNobody = (): string => {
  const probe = spawnSync(runuser!, ['-u', 'nobody', '--', process.execPath, '-e', '0'])
  if (probe.status === 0) return process.execPath
  const copy = path.join(openDir(), 'node')
  fs.copyFileSync(process.execPath, copy)
  fs.chmodSync(copy, 0o755)
  return copy
}

/** Connects to `socket` as `user` and says what happened: `connected`, or the error code. */
const connectAs = (user: string | null, node: string, socket: string): string => {
  const script = path.join(openDir(), 'connect.mjs')
  fs.writeFileSync(
    script,
    `import net from 'node:net'
const s = net.connect(process.argv[2])
s.on('connect', () => { console.log('connected'); s.destroy() })
s.on('error', (e) => console.log(e.code))
`,
  )
  fs.chmodSync(script, 0o644)
  const command = user === null ? [node, script, socket] : [runuser!, '-u', user, '--', node, script, socket]
  return execFileSync(command[0]!, command.slice(1), { encoding: 'utf8' }).trim()
}

it.runIf(why === undefined)('another user is refused by the socket itself; its owner connects', async () => {
  const dir = openDir()
  const socket = path.join(dir, 'control.sock')
  const master = start(['serve', cliFixture('worker-app.ts'), '--bind', '127.0.0.1:0', '--control', socket], {
    cwd: tempDir(),
  })
  await master.serving()
  expect(fs.statSync(socket).mode & 0o777).toBe(0o600)
  const node = nodeForNobody()
  // nobody reaches the directory; only the socket's mode stands in the way.
  expect(spawnSync(runuser!, ['-u', 'nobody', '--', 'test', '-r', dir]).status).toBe(0)
  expect(connectAs('nobody', node, socket)).toBe('EACCES')
  expect(connectAs(null, node, socket)).toBe('connected')
  await master.stop()
})
