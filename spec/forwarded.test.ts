/**
 * Forwarded headers believed only from trusted proxies (gunicorn's forwarded_allow_ips): what
 * RFC 7239 `Forwarded` or X-Forwarded-For / -Proto / -Host say from a trusted peer, nothing
 * from anyone else; the client is the right-most hop that is not a trusted proxy, so an address
 * a client writes itself never wins; several lines, IPv6, and garbage that is ignored. The
 * headers come from node:http's own parser (rawHeaders of a real request) where a test is about
 * what arrives on the wire.
 */
import http from 'node:http'
import type net from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { forwardedClient } from '../transports/proxy/forwarded.ts'
import { trustedAddresses } from '../transports/proxy/trusted-addresses.ts'

const loopback = trustedAddresses(['127.0.0.1', '::1'])
const proxies = trustedAddresses(['127.0.0.1', '10.0.0.0/8', 'fd00::/8'])

/** rawHeaders from name/value pairs, as node:http gives them. */
const raw = (...pairs: [string, string][]): string[] => pairs.flat()

describe('from a peer that is not trusted', () => {
  it('takes nothing, whatever the headers say', () => {
    const headers = raw(
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-Proto', 'https'],
      ['Forwarded', 'for=203.0.113.9;proto=https'],
    )
    expect(forwardedClient(headers, '198.51.100.20', loopback)).toBeUndefined()
    expect(forwardedClient(headers, '::ffff:198.51.100.20', loopback)).toBeUndefined()
  })

  it('a Unix-socket peer is trusted only where loopback is', () => {
    const headers = raw(['X-Forwarded-For', '203.0.113.9'])
    expect(forwardedClient(headers, undefined, loopback)).toEqual({ address: '203.0.113.9' })
    expect(forwardedClient(headers, undefined, trustedAddresses(['10.0.0.0/8']))).toBeUndefined()
    expect(forwardedClient(headers, undefined, trustedAddresses(['unix']))).toEqual({
      address: '203.0.113.9',
    })
  })
})

describe('X-Forwarded-*', () => {
  it('gives the client address, scheme and host from a trusted peer', () => {
    const headers = raw(
      ['Host', 'internal:8080'],
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'shop.example.com'],
    )
    expect(forwardedClient(headers, '127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
      proto: 'https',
      host: 'shop.example.com',
    })
  })

  it('takes the peer of a dual-stack listener (IPv4-mapped) as the IPv4 address it trusts', () => {
    expect(forwardedClient(raw(['X-Forwarded-For', '203.0.113.9']), '::ffff:127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
    })
  })

  it('matches header names in any case', () => {
    const headers = raw(
      ['x-forwarded-for', '203.0.113.9'],
      ['X-FORWARDED-PROTO', 'HTTPS'],
      ['x-Forwarded-Host', 'a.example'],
    )
    expect(forwardedClient(headers, '127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
      proto: 'https',
      host: 'a.example',
    })
  })

  it('walks from the right past trusted proxies to the client', () => {
    const headers = raw(['X-Forwarded-For', '203.0.113.9, 10.0.0.7, 10.0.0.8'])
    expect(forwardedClient(headers, '127.0.0.1', proxies)).toEqual({ address: '203.0.113.9' })
  })

  it('keeps an address the client wrote itself out: the walk stops at the first untrusted hop', () => {
    // The client sent "X-Forwarded-For: 10.0.0.1, 1.1.1.1"; the edge proxy appended the real 203.0.113.9.
    const headers = raw(['X-Forwarded-For', '10.0.0.1, 1.1.1.1, 203.0.113.9, 10.0.0.7'])
    expect(forwardedClient(headers, '10.0.0.8', proxies)).toEqual({ address: '203.0.113.9' })
  })

  it('a client cannot pose as a trusted proxy to reach further left', () => {
    // The client (198.51.100.3) wrote a trusted-looking address; the walk stops at the client.
    const headers = raw(['X-Forwarded-For', '6.6.6.6, 10.0.0.1, 198.51.100.3'])
    expect(forwardedClient(headers, '127.0.0.1', proxies)).toEqual({ address: '198.51.100.3' })
  })

  it('gives the left-most address when every hop is a trusted proxy', () => {
    expect(forwardedClient(raw(['X-Forwarded-For', '10.1.1.1, 10.0.0.7']), '127.0.0.1', proxies)).toEqual({
      address: '10.1.1.1',
    })
  })

  it('with * trusts every hop, so the left-most address is the client', () => {
    const headers = raw(['X-Forwarded-For', '203.0.113.9, 198.51.100.1'])
    expect(forwardedClient(headers, '192.0.2.1', trustedAddresses(['*']))).toEqual({ address: '203.0.113.9' })
  })

  it('joins several header lines in order', () => {
    const headers = raw(
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-For', '10.0.0.7'],
    )
    expect(forwardedClient(headers, '127.0.0.1', proxies)).toEqual({ address: '203.0.113.9', proto: 'https' })
  })

  it('reads IPv6 entries, bare or bracketed with a port, and IPv4 with a port', () => {
    expect(forwardedClient(raw(['X-Forwarded-For', '2001:db8::9, fd00::7']), '127.0.0.1', proxies)).toEqual({
      address: '2001:db8::9',
    })
    expect(forwardedClient(raw(['X-Forwarded-For', '[2001:db8::9]:4711']), '::1', loopback)).toEqual({
      address: '2001:db8::9',
      port: 4711,
    })
    expect(forwardedClient(raw(['X-Forwarded-For', '203.0.113.9:5123']), '::1', loopback)).toEqual({
      address: '203.0.113.9',
      port: 5123,
    })
  })

  it('takes proto and host from the same hop as the address when the lists line up, else the right-most', () => {
    const aligned = raw(
      ['X-Forwarded-For', '203.0.113.9, 10.0.0.7'],
      ['X-Forwarded-Proto', 'https, http'],
      ['X-Forwarded-Host', 'shop.example.com, edge.internal'],
    )
    expect(forwardedClient(aligned, '127.0.0.1', proxies)).toEqual({
      address: '203.0.113.9',
      proto: 'https',
      host: 'shop.example.com',
    })
    const rightMost = raw(['X-Forwarded-For', '203.0.113.9, 10.0.0.7'], ['X-Forwarded-Proto', 'https'])
    expect(forwardedClient(rightMost, '127.0.0.1', proxies)).toEqual({
      address: '203.0.113.9',
      proto: 'https',
    })
  })

  it('gives proto or host alone, without an address', () => {
    expect(forwardedClient(raw(['X-Forwarded-Proto', 'https']), '127.0.0.1', loopback)).toEqual({
      proto: 'https',
    })
    expect(forwardedClient(raw(['X-Forwarded-Host', 'a.example:8443']), '127.0.0.1', loopback)).toEqual({
      host: 'a.example:8443',
    })
  })

  it('stops at garbage: no address from an entry that is not one, nor from anything left of it', () => {
    for (const value of [
      '203.0.113.9, not-an-ip',
      '203.0.113.9, unknown',
      '203.0.113.9, 999.1.1.1',
      '203.0.113.9:99999',
      '[2001:db8::1',
    ]) {
      expect(forwardedClient(raw(['X-Forwarded-For', value]), '127.0.0.1', loopback), value).toBeUndefined()
    }
    // Empty list elements are no hops.
    expect(forwardedClient(raw(['X-Forwarded-For', '203.0.113.9, ,']), '127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
    })
  })

  it('ignores a proto other than http or https, and a host that is not one', () => {
    const headers = raw(
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-Proto', 'javascript'],
      ['X-Forwarded-Host', 'evil.example/path?x'],
    )
    expect(forwardedClient(headers, '127.0.0.1', loopback)).toEqual({ address: '203.0.113.9' })
    expect(forwardedClient(raw(['X-Forwarded-Proto', 'ftp']), '127.0.0.1', loopback)).toBeUndefined()
  })
})

describe('Forwarded (RFC 7239)', () => {
  it('gives for, proto and host from a trusted peer', () => {
    const headers = raw(['Forwarded', 'for=203.0.113.9;proto=https;host=shop.example.com'])
    expect(forwardedClient(headers, '127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
      proto: 'https',
      host: 'shop.example.com',
    })
  })

  it('reads quoted values, [IPv6]:port, IPv4:port, and parameter names in any case', () => {
    expect(
      forwardedClient(
        raw(['Forwarded', 'For="[2001:db8:cafe::17]:4711";Proto=HTTPS']),
        '127.0.0.1',
        loopback,
      ),
    ).toEqual({ address: '2001:db8:cafe::17', port: 4711, proto: 'https' })
    expect(forwardedClient(raw(['Forwarded', 'for="192.0.2.43:47011"']), '127.0.0.1', loopback)).toEqual({
      address: '192.0.2.43',
      port: 47011,
    })
    expect(forwardedClient(raw(['Forwarded', 'for="[2001:db8::1]"']), '127.0.0.1', loopback)).toEqual({
      address: '2001:db8::1',
    })
    expect(forwardedClient(raw(['Forwarded', 'for="192.0.2.43:_port9"']), '127.0.0.1', loopback)).toEqual({
      address: '192.0.2.43',
    })
  })

  it('reads a quoted string holding separators and escapes', () => {
    const headers = raw(['Forwarded', 'host="a.example:8443";ext="x, y; \\"z\\"";for=203.0.113.9'])
    expect(forwardedClient(headers, '127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
      host: 'a.example:8443',
    })
  })

  it('walks several elements and several lines from the right, past trusted proxies', () => {
    const headers = raw(
      ['Forwarded', 'for=198.51.100.1;proto=http, for=203.0.113.9;proto=https;host=shop.example.com'],
      ['Forwarded', 'for=10.0.0.7;proto=http;host=edge.internal'],
    )
    // 198.51.100.1 is what the client claimed; 203.0.113.9 is who reached the edge, over https.
    expect(forwardedClient(headers, '10.0.0.8', proxies)).toEqual({
      address: '203.0.113.9',
      proto: 'https',
      host: 'shop.example.com',
    })
  })

  it('is used alone when present: X-Forwarded-* beside it is not mixed in', () => {
    const headers = raw(
      ['X-Forwarded-For', '198.51.100.1'],
      ['X-Forwarded-Proto', 'https'],
      ['Forwarded', 'for=203.0.113.9'],
    )
    expect(forwardedClient(headers, '127.0.0.1', loopback)).toEqual({ address: '203.0.113.9' })
  })

  it('stops at "unknown" and obfuscated identifiers, keeping what that hop says of proto and host', () => {
    expect(
      forwardedClient(raw(['Forwarded', 'for=203.0.113.9, for=unknown;proto=https']), '127.0.0.1', loopback),
    ).toEqual({ proto: 'https' })
    expect(
      forwardedClient(raw(['Forwarded', 'for=203.0.113.9, for=_hidden']), '127.0.0.1', loopback),
    ).toBeUndefined()
    expect(
      forwardedClient(raw(['Forwarded', 'for=203.0.113.9, proto=https']), '127.0.0.1', loopback),
    ).toEqual({
      proto: 'https',
    })
  })

  it.each([
    ['an element that repeats a parameter', 'for=203.0.113.9, for=10.0.0.7;for=10.0.0.8'],
    ['an element without "="', 'for=203.0.113.9, garbage'],
    ['an unclosed quote', 'for=203.0.113.9, for="10.0.0.7'],
    ['text after a quoted value', 'for=203.0.113.9, for="10.0.0.7"x'],
    ['an address with a bad port', 'for=203.0.113.9, for="10.0.0.7:80:80"'],
    ['not an address', 'for=203.0.113.9, for=localhost'],
  ])('gives no address past %s', (_, value) => {
    expect(forwardedClient(raw(['Forwarded', value]), '127.0.0.1', proxies)).toBeUndefined()
  })

  it('skips a garbled element on the left of the client', () => {
    expect(forwardedClient(raw(['Forwarded', 'garbage,, for=203.0.113.9']), '127.0.0.1', loopback)).toEqual({
      address: '203.0.113.9',
    })
  })
})

describe('what arrives on the wire', () => {
  /** The rawHeaders and peer of one request sent with `headers`, as a node:http server sees them. */
  const receive = async (
    headers: [string, string][],
  ): Promise<{ rawHeaders: string[]; peer: string | undefined }> => {
    const server = http.createServer()
    onTestFinished(() => {
      server.close()
      server.closeAllConnections()
    })
    const received = new Promise<{ rawHeaders: string[]; peer: string | undefined }>((resolve) =>
      server.once('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        resolve({ rawHeaders: req.rawHeaders, peer: req.socket.remoteAddress })
        res.end()
      }),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as net.AddressInfo
    const done = new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          port,
          host: '127.0.0.1',
          agent: false,
          // A header list is sent as given: node adds no Host, which node:http's server requires.
          headers: [['Host', 'app.internal'], ...headers].flat(),
        },
        (res) => {
          res.resume()
          // A refused request (400) never reaches 'request': fail rather than wait for it.
          if (res.statusCode !== 200) reject(new Error(`the server answered ${res.statusCode}`))
          res.on('end', resolve)
        },
      )
      request.on('error', reject)
      request.end()
    })
    const [result] = await Promise.all([received, done])
    return result
  }

  it('a trusted proxy chain over a real request: several lines, the spoofed entry kept out', async () => {
    const { rawHeaders, peer } = await receive([
      ['X-Forwarded-For', '10.9.9.9, 203.0.113.9'],
      ['x-forwarded-for', '10.0.0.7'],
      ['X-Forwarded-Proto', 'https'],
    ])
    expect(peer).toBe('127.0.0.1')
    expect(forwardedClient(rawHeaders, peer, trustedAddresses(['127.0.0.1', '10.0.0.0/8']))).toEqual({
      address: '203.0.113.9',
      proto: 'https',
    })
    expect(forwardedClient(rawHeaders, peer, trustedAddresses(['10.0.0.0/8']))).toBeUndefined()
  })

  it('a request without any of these headers gives nothing', async () => {
    const { rawHeaders, peer } = await receive([
      ['Accept-Encoding', 'gzip'],
      ['Accept-Language', 'en'],
      ['X-Requested-With', 'fetch'],
      ['Forwarded-Not', 'for=1.2.3.4'],
    ])
    expect(forwardedClient(rawHeaders, peer, trustedAddresses(['*']))).toBeUndefined()
  })
})
