/**
 * `requestUrl` (transports/http/incoming-request.ts) takes a fast path for targets and hosts
 * the WHATWG URL serializer would give back unchanged; whatever it answers must be what
 * `new URL('http://' + host + target).href` (and so `new Request(...).url`) gives. A table of
 * the odd cases, then every printable ASCII character in a path and in a query, on every host.
 */
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { requestUrl } from '../transports/http/incoming-request.ts'

/** The fields requestUrl reads of a message (no proxy is trusted: the Host header is the host). */
const message = (target: string, host: string) =>
  ({ url: target, rawHeaders: ['Host', host], headers: { host }, socket: {} }) as unknown as IncomingMessage

const standard = (target: string, host: string) => new URL(`http://${host}${target}`).href

const hosts = [
  'x.test',
  'EXAMPLE.com',
  'Example.COM:8080',
  'example.com:80',
  'example.com:080',
  'example.com:8080',
  'example.com:65535',
  'example.com:0',
  'example.com.',
  '127.0.0.1',
  '127.0.0.1:3000',
  '127.1',
  '0x7f.0.0.1',
  '0177.0.0.1',
  '01.2.3.4',
  '1.2.3.4.',
  '4294967295',
  '[::1]',
  '[::1]:81',
  '[0:0::1]',
  'a-b.c-d',
  'foo.bar1',
  'xn--nxasmq6b.com',
  'localhost',
]

const targets = [
  '/',
  '/a/b/c',
  '/a/../b',
  '/./x',
  '/a/.',
  '/a/..',
  '/%2e%2e/x',
  '/%2E/x',
  '/.well-known/x',
  '/a?b/../c',
  "/q?name='a%20b'&c=d",
  '/a%20b',
  '/a%zz',
  '/caf%C3%A9',
  '//double//slash',
  '/a\\b',
  '/a#frag',
  '/a?x=%7e&y=~',
  '/a;b=c,d@e:f',
  '/~user/$x&(y)*+!',
  '/a?',
  '/a?#',
]

describe('requestUrl', () => {
  it.each(hosts)('on host %s: every target as new URL() gives it', (host) => {
    for (const target of targets)
      expect(requestUrl(message(target, host)), target).toBe(standard(target, host))
  })

  it('every printable ASCII character in a path and in a query, on every host', () => {
    for (const host of hosts)
      for (let code = 0x21; code < 0x7f; code++) {
        const c = String.fromCharCode(code)
        for (const target of [`/a${c}b`, `/a?b${c}c`, `/${c}`, `/a/${c}${c}/b`]) {
          expect(requestUrl(message(target, host)), `${JSON.stringify(target)} on ${host}`).toBe(
            standard(target, host),
          )
        }
      }
  })
})
