/**
 * HUP with open WebSockets, on the real command: `troupe serve` in its own process, fifty
 * sockets open on generation 1, then SIGHUP. New sockets land on generation 2; every old one
 * stays open until `--graceful-timeout` and is then told 1001 (Going Away), none before; TERM
 * then stops the master cleanly, and no worker process is left behind.
 */
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { eventually } from './support/manual-clock.ts'
import { start, tempDir, workerPids } from './support/troupe-cli.ts'
import { type Client, connect } from './support/ws-client.ts'

const websocketApp = fileURLToPath(new URL('./fixtures/websocket-app.ts', import.meta.url))

/** Running: there, and not a zombie waiting for its parent to reap it. */
const running = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const generationOf = (client: Client) => client.hello.split(' ')[2]

describe('troupe serve, HUP and open WebSockets', () => {
  it('new sockets land on generation 2; the old ones get 1001 at --graceful-timeout, none before; TERM leaves no process', async () => {
    const grace = 2
    const troupe = start(
      [
        'serve',
        websocketApp,
        '--bind',
        '127.0.0.1:0',
        '--workers',
        '2',
        '--placement',
        'process',
        '--graceful-timeout',
        String(grace),
      ],
      { cwd: tempDir() },
    )
    const { port } = await troupe.serving()
    const url = `ws://127.0.0.1:${port}/`
    const clients: Client[] = []
    onTestFinished(() => {
      for (const c of clients) c.ws.terminate()
    })
    const old = await Promise.all(Array.from({ length: 50 }, () => connect(url)))
    clients.push(...old)
    expect(new Set(old.map(generationOf))).toEqual(new Set(['1']))
    const workers = new Set(workerPids(troupe.pid))
    expect(workers.size).toBe(2)

    const hupAt = performance.now()
    troupe.signal('SIGHUP')
    // Generation 1 keeps taking sockets until generation 2 serves; from then on, only 2 does.
    const firstNew = await eventually(
      async () => {
        const probe = await connect(url)
        clients.push(probe)
        return generationOf(probe) === '2' && probe
      },
      20_000,
      'a socket on generation 2',
    )
    const fresh = [firstNew, ...(await Promise.all(Array.from({ length: 10 }, () => connect(url))))]
    clients.push(...fresh)
    expect(new Set(fresh.map(generationOf))).toEqual(new Set(['2']))
    for (const pid of workerPids(troupe.pid)) workers.add(pid)
    expect(workers.size).toBe(4)

    await eventually(() => old.every((c) => c.closed), 20_000, 'the old sockets to close')
    expect(new Set(old.map((c) => c.closed!.code))).toEqual(new Set([1001]))
    // The drain begins once generation 2 serves, after the HUP: none closes before its deadline.
    const earliest = Math.min(...old.map((c) => c.closed!.at)) - hupAt
    expect(earliest).toBeGreaterThanOrEqual(grace * 1_000 - 100)
    await troupe.waitForStderr(/^troupe: reloaded: generation 2, 2 workers$/m)
    expect(fresh.every((c) => c.closed === undefined)).toBe(true)

    const exit = await troupe.stop(20_000)
    expect(exit.code, exit.stderr).toBe(0)
    expect([...workers].filter(running)).toEqual([])
    // The master said 1001 to the sockets of generation 2 too on its way out.
    await eventually(() => fresh.every((c) => c.closed), 10_000, 'the new sockets to close')
    expect(new Set(fresh.map((c) => c.closed!.code))).toEqual(new Set([1001]))
  }, 90_000)
})
