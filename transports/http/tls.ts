/**
 * TLS for https:// binds. The handshake happens in the worker that takes the connection (the
 * acceptor hands it the raw TCP socket), so its cost spreads over the workers, as HTTP's does;
 * the master only checks at start-up and on reload that the files make a context.
 */
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
// node:tls (22 ms to load here) is taken where it is used, through process.getBuiltinModule:
// a worker or master without an https:// bind never loads it.
import type * as tls from 'node:tls'

/** The TLS settings a worker gets: file paths, read by the worker itself as it starts. */
export interface TlsSettings {
  readonly certfile: string
  readonly keyfile: string
  readonly caCerts: string | null
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  readonly ciphers: string | null
  /** Session ticket keys (48 bytes, base64) shared by the generation's workers; absent: each worker its own. */
  readonly ticketKeys?: string
}

export interface TlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
  readonly ca: Buffer | undefined
  readonly minVersion: TlsSettings['minVersion']
  readonly ciphers: string | null
}

/** Throws what OpenSSL says when the files do not make a context (a key that is not the certificate's, a bad PEM). */
export const tlsContext = (m: TlsMaterial): tls.SecureContext =>
  process.getBuiltinModule('node:tls').createSecureContext({
    cert: m.cert,
    key: m.key,
    minVersion: m.minVersion,
    ...(m.ca ? { ca: m.ca } : {}),
    ...(m.ciphers ? { ciphers: m.ciphers } : {}),
  })

/**
 * A worker's server side of TLS: a context from the files as they are now, and how to wrap a
 * connection. `http2`: the handshake offers h2 first, then http/1.1 for clients without it.
 */
export const serverTls = (settings: TlsSettings, http2: boolean): ((socket: Socket) => tls.TLSSocket) => {
  const context = tlsContext({
    cert: readFileSync(settings.certfile),
    key: readFileSync(settings.keyfile),
    ca: settings.caCerts === null ? undefined : readFileSync(settings.caCerts),
    minVersion: settings.minVersion,
    ciphers: settings.ciphers,
  })
  // One set of ticket keys for every worker: a session resumes on whichever worker the client's
  // next connection reaches (with per-worker keys, only on the one that issued it).
  if (settings.ticketKeys) context.context.setTicketKeys(Buffer.from(settings.ticketKeys, 'base64'))
  const mutual = settings.caCerts !== null
  const alpn = http2 ? ['h2', 'http/1.1'] : ['http/1.1']
  const { TLSSocket } = process.getBuiltinModule('node:tls')
  return (socket) =>
    new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      // Said in the handshake: a client that offers only what is not here falls back to HTTP/1.1.
      ALPNProtocols: alpn,
      requestCert: mutual,
      rejectUnauthorized: mutual,
    })
}
