/**
 * Who removes a Unix socket file, on real sockets in a temp dir: the listener that made it, on
 * close, while the path still names its socket; not when it handed the socket to a new master
 * (USR2), and not when another process's socket has taken the path since.
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closeListener, listen } from '../transports/http/listen.ts'

const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-listen-'))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const listening = async (socketPath: string) => {
  const server = net.createServer((socket) => socket.end('hi'))
  onTestFinished(() => {
    server.close()
  })
  await listen(server, { kind: 'unix', path: socketPath }, { backlog: 16 })
  return server
}

const answer = (socketPath: string) =>
  new Promise<string>((resolve, reject) => {
    let text = ''
    net
      .connect(socketPath)
      .setEncoding('utf8')
      .on('data', (chunk: string) => {
        text += chunk
      })
      .on('end', () => resolve(text))
      .on('error', reject)
  })

describe('Unix socket files', () => {
  it('a listener leaves nothing but its socket file, and removes it on close', async () => {
    const dir = tempDir()
    const socketPath = path.join(dir, 'app.sock')
    const server = await listening(socketPath)
    expect(fs.readdirSync(dir)).toEqual(['app.sock'])
    expect(await answer(socketPath)).toBe('hi')
    await closeListener(server)
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('with keepSocketFile, closing leaves the file (a new master serves the socket now)', async () => {
    const dir = tempDir()
    const socketPath = path.join(dir, 'app.sock')
    const server = await listening(socketPath)
    await closeListener(server, { keepSocketFile: true })
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true)
  })

  it("closing leaves a file that another listener's socket took over since", async () => {
    const dir = tempDir()
    const socketPath = path.join(dir, 'app.sock')
    const first = await listening(socketPath)
    fs.unlinkSync(socketPath)
    const second = await listening(socketPath)
    await closeListener(first)
    expect(await answer(socketPath)).toBe('hi')
    await closeListener(second)
    expect(fs.existsSync(socketPath)).toBe(false)
  })
})
