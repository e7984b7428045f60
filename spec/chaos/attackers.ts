/**
 * Slow clients, as slowhttptest plays them: slowloris connections that send a request head a
 * header line at a time and never finish it, and slow uploads that announce a body and send it
 * a byte at a time. Each records when the server cut it off.
 */
import net from 'node:net'

export interface Attack {
  /** ms from connect to the server's close, for those it closed. */
  readonly cut: number[]
  /** Connections still open. */
  open(): number
  /** Connections that never connected (refused, reset before connect). */
  readonly failed: () => number
  /** Closes what is left. */
  stop(): void
}

const attack = (port: number, count: number, first: string, next: () => string, everyMs: number): Attack => {
  const cut: number[] = []
  const sockets = new Set<net.Socket>()
  let failed = 0
  let stopping = false
  for (let i = 0; i < count; i++) {
    const began = performance.now()
    const socket = net.connect({ host: '127.0.0.1', port })
    let timer: NodeJS.Timeout | undefined
    socket.on('connect', () => {
      sockets.add(socket)
      socket.write(first)
      timer = setInterval(() => socket.write(next()), everyMs)
    })
    socket.on('data', () => {})
    socket.on('error', () => {
      if (!sockets.has(socket)) failed++
    })
    socket.on('close', () => {
      clearInterval(timer)
      if (sockets.delete(socket) && !stopping) cut.push(performance.now() - began)
    })
  }
  return {
    cut,
    open: () => sockets.size,
    failed: () => failed,
    stop: () => {
      stopping = true
      for (const socket of sockets) socket.destroy()
    },
  }
}

/** Request heads that never end: a header line every `everyMs`. */
export const slowloris = (port: number, count: number, everyMs = 5_000): Attack => {
  let n = 0
  return attack(port, count, 'GET / HTTP/1.1\r\nHost: localhost\r\n', () => `X-Slow-${n++}: a\r\n`, everyMs)
}

/** Uploads of 1 MB announced, a byte sent every `everyMs`. */
export const slowBodies = (port: number, count: number, everyMs = 1_000): Attack =>
  attack(
    port,
    count,
    'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n',
    () => 'x',
    everyMs,
  )
