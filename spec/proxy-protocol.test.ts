/**
 * The PROXY protocol, versions 1 and 2: the parser on every kind of header and every refusal,
 * then readProxyHeader on real sockets (TCP on 127.0.0.1:0, a temp-dir Unix socket): the client
 * it declares, the bytes after the header put back byte-exact, a header arriving byte by byte,
 * refusals that leave the socket to the caller, and a TLS handshake that follows the header.
 */
import { readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { type Duplex, duplexPair } from 'node:stream'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { deserializeError, ProxyProtocolError, serializeError, TroupeError } from '../runtime/errors.ts'
import { sniffPreface } from '../transports/http/http2.ts'
import {
  type ProxyAnswer,
  type ProxyParse,
  parseProxyHeader,
  readProxyHeader,
  V1_MAX_BYTES,
  V2_MAX_LENGTH,
} from '../transports/proxy/proxy-protocol.ts'
import { trustedAddresses } from '../transports/proxy/trusted-addresses.ts'
import { makeCerts, type TestCerts } from './support/tls-certs.ts'
import { tempDir } from './support/troupe-cli.ts'

const SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1')

/** A version 2 header: version/command and family/transport bytes, then the block (length from it unless given). */
const v2 = (
  versionCommand: number,
  familyTransport: number,
  block: Buffer = Buffer.alloc(0),
  length = block.length,
) => {
  const fixed = Buffer.alloc(4)
  fixed[0] = versionCommand
  fixed[1] = familyTransport
  fixed.writeUInt16BE(length, 2)
  return Buffer.concat([SIGNATURE, fixed, block])
}

const ipv4Block = (source: number[], destination: number[], sourcePort: number, destinationPort: number) => {
  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(sourcePort, 0)
  ports.writeUInt16BE(destinationPort, 2)
  return Buffer.concat([Buffer.from(source), Buffer.from(destination), ports])
}

const ipv6Bytes = (groups: number[]) => {
  const bytes = Buffer.alloc(16)
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(group, 2 * i)
  return bytes
}

const ipv6Block = (source: number[], destination: number[], sourcePort: number, destinationPort: number) => {
  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(sourcePort, 0)
  ports.writeUInt16BE(destinationPort, 2)
  return Buffer.concat([ipv6Bytes(source), ipv6Bytes(destination), ports])
}

const tlv = (type: number, value: Buffer) => {
  const head = Buffer.alloc(3)
  head[0] = type
  head.writeUInt16BE(value.length, 1)
  return Buffer.concat([head, value])
}

const PROXY_V2 = 0x21
const LOCAL_V2 = 0x20
const TCP4 = 0x11
const TCP6 = 0x21
const UNIX_STREAM = 0x31

const V1_TCP4 = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n', 'latin1')
const V2_TCP4 = v2(PROXY_V2, TCP4, ipv4Block([192, 0, 2, 1], [198, 51, 100, 2], 56324, 443))

const text = (s: string) => Buffer.from(s, 'latin1')

const refusal = (parse: ProxyParse) => {
  if (parse.state !== 'refused') throw new Error(`expected a refusal, got ${JSON.stringify(parse)}`)
  return parse
}

/** Every strict prefix of `bytes` asks for more. */
const expectMoreForEveryPrefix = (bytes: Buffer) => {
  for (let n = 0; n < bytes.length; n++)
    expect(parseProxyHeader(bytes.subarray(0, n)), `prefix of ${n} bytes`).toEqual({ state: 'more' })
}

describe('version 1', () => {
  it('reads TCP4: source and destination, and how many bytes the header took', () => {
    const after = text('GET / HTTP/1.1\r\n')
    expect(parseProxyHeader(Buffer.concat([V1_TCP4, after]))).toEqual({
      state: 'header',
      header: {
        version: 1,
        command: 'proxy',
        family: 'tcp4',
        source: { address: '192.0.2.1', port: 56324 },
        destination: { address: '198.51.100.2', port: 443 },
      },
      consumed: V1_TCP4.length,
    })
  })

  it('reads TCP6', () => {
    const header = text('PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n')
    expect(parseProxyHeader(header)).toEqual({
      state: 'header',
      header: {
        version: 1,
        command: 'proxy',
        family: 'tcp6',
        source: { address: '2001:db8::1', port: 65535 },
        destination: { address: '2001:db8::2', port: 0 },
      },
      consumed: header.length,
    })
  })

  it('reads UNKNOWN, ignoring whatever follows it on the line', () => {
    for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN whatever the sender put here\r\n']) {
      expect(parseProxyHeader(text(`${line}rest`))).toEqual({
        state: 'header',
        header: { version: 1, command: 'proxy', family: 'unknown' },
        consumed: line.length,
      })
    }
  })

  it('asks for more until the CRLF, whatever the split', () => {
    expectMoreForEveryPrefix(V1_TCP4)
  })

  it('takes a header of exactly 107 bytes (the longest the spec allows), and refuses one byte more', () => {
    const ffff = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const longest = text(`PROXY UNKNOWN ${ffff} ${ffff} 65535 65535\r\n`)
    expect(longest.length).toBe(V1_MAX_BYTES)
    expect(parseProxyHeader(longest)).toMatchObject({ state: 'header', consumed: V1_MAX_BYTES })
    const tooLong = text(`PROXY UNKNOWN ${ffff} ${ffff} 65535 655350\r\n`)
    expect(refusal(parseProxyHeader(tooLong))).toMatchObject({
      reason: 'malformed-v1',
      message: 'a version 1 header has no CRLF within its 107 bytes',
    })
  })

  it('refuses a line as soon as its CRLF can no longer fit in 107 bytes', () => {
    const line = text(`PROXY UNKNOWN ${'a'.repeat(200)}`)
    // The CR may still come as byte 106 (and the LF as 107).
    expect(parseProxyHeader(line.subarray(0, 105))).toEqual({ state: 'more' })
    expect(refusal(parseProxyHeader(line.subarray(0, 106)))).toMatchObject({
      reason: 'malformed-v1',
      message: 'a version 1 header has no CRLF within its 107 bytes',
    })
    expect(parseProxyHeader(Buffer.concat([line.subarray(0, 105), text('\r')]))).toEqual({ state: 'more' })
  })

  it.each([
    ['PROXY TCP4 192.0.2.300 198.51.100.2 1 2\r\n', /source address "192\.0\.2\.300" is not an address/],
    ['PROXY TCP4 192.0.2.1 localhost 1 2\r\n', /destination address "localhost" is not an address/],
    ['PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n', /says TCP4 but its source address 2001:db8::1 is IPv6/],
    [
      'PROXY TCP6 2001:db8::1 198.51.100.2 1 2\r\n',
      /says TCP6 but its destination address 198\.51\.100\.2 is IPv4/,
    ],
    ['PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n', /port "65536" is not a number from 0 to 65535/],
    ['PROXY TCP4 192.0.2.1 198.51.100.2 443 -1\r\n', /port "-1" is not a number/],
    ['PROXY TCP4 192.0.2.1 198.51.100.2 http 443\r\n', /port "http" is not a number/],
    [
      'PROXY TCP4 192.0.2.1 198.51.100.2 443\r\n',
      /must read "PROXY TCP4 <source> <destination> <source port> <destination port>"/,
    ],
    ['PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n', /must read/],
    ['PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n', /must read/],
    ['PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n', /names protocol "UDP4", not TCP4, TCP6 or UNKNOWN/],
    ['PROXY \r\n', /names protocol ""/],
    ['PROXY TCP4 192.0.2.1\r198.51.100.2 1 2\r\n', /a CR not followed by LF/],
    ['PROXY TCP4 192.0.2.1\n198.51.100.2 1 2\r\n', /a byte that is not text/],
    ['PROXY TCP4 192.0.2.1\u00e9 198.51.100.2 1 2\r\n', /a byte that is not text/],
  ])('refuses %j', (header, message) => {
    const parse = refusal(parseProxyHeader(text(header)))
    expect(parse.reason).toBe('malformed-v1')
    expect(parse.message).toMatch(message)
  })
})

describe('version 2', () => {
  it('reads PROXY over TCP4', () => {
    expect(parseProxyHeader(Buffer.concat([V2_TCP4, text('after')]))).toEqual({
      state: 'header',
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        source: { address: '192.0.2.1', port: 56324 },
        destination: { address: '198.51.100.2', port: 443 },
      },
      consumed: 16 + 12,
    })
  })

  it.each([
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], '::ffff:192.0.2.1'],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 0], '2001:db8:0:1::'],
    [[1, 0, 0, 2, 0, 0, 0, 3], '1:0:0:2::3'],
    [[1, 0, 0, 2, 3, 0, 0, 4], '1::2:3:0:0:4'],
    [[0x2001, 0xdb8, 1, 2, 3, 4, 0, 5], '2001:db8:1:2:3:4:0:5'],
    [
      [0xfe80, 0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345],
      'fe80:abcd:ef01:2345:6789:abcd:ef01:2345',
    ],
  ])('reads PROXY over TCP6, addresses in RFC 5952 text: %j is %s', (groups, address) => {
    const header = v2(PROXY_V2, TCP6, ipv6Block(groups, [0, 0, 0, 0, 0, 0, 0, 1], 40000, 8443))
    expect(parseProxyHeader(header)).toEqual({
      state: 'header',
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp6',
        source: { address, port: 40000 },
        destination: { address: '::1', port: 8443 },
      },
      consumed: 16 + 36,
    })
    expect(net.isIPv6(address)).toBe(true)
  })

  it('reads LOCAL (a health check), discarding whatever block it carries', () => {
    expect(parseProxyHeader(v2(LOCAL_V2, 0x00))).toEqual({
      state: 'header',
      header: { version: 2, command: 'local' },
      consumed: 16,
    })
    const withBlock = v2(LOCAL_V2, TCP4, ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2))
    expect(parseProxyHeader(withBlock)).toEqual({
      state: 'header',
      header: { version: 2, command: 'local' },
      consumed: 28,
    })
    // Even a family this listener would refuse under PROXY: LOCAL's block means nothing.
    expect(parseProxyHeader(v2(LOCAL_V2, 0x12, Buffer.alloc(5)))).toMatchObject({
      state: 'header',
      consumed: 21,
    })
  })

  it('reads AF_UNSPEC as a client the sender cannot name', () => {
    expect(parseProxyHeader(v2(PROXY_V2, 0x00, Buffer.alloc(4)))).toEqual({
      state: 'header',
      header: { version: 2, command: 'proxy', family: 'unknown' },
      consumed: 20,
    })
  })

  it('reads AF_UNIX paths', () => {
    const paths = Buffer.alloc(216)
    paths.write('/run/lb/client.sock', 0)
    paths.write('/run/app.sock', 108)
    expect(parseProxyHeader(v2(PROXY_V2, UNIX_STREAM, paths))).toEqual({
      state: 'header',
      header: {
        version: 2,
        command: 'proxy',
        family: 'unix',
        source: '/run/lb/client.sock',
        destination: '/run/app.sock',
      },
      consumed: 16 + 216,
    })
  })

  it('skips TLVs, counting them in the header', () => {
    const tlvs = Buffer.concat([
      tlv(0x01, text('h2')), // PP2_TYPE_ALPN
      tlv(0x05, text('unique-id-1234')), // PP2_TYPE_UNIQUE_ID
      tlv(0x04, Buffer.alloc(0)), // PP2_TYPE_NOOP, empty
      tlv(0xea, Buffer.alloc(300, 1)), // PP2_TYPE_AWS
    ])
    const header = v2(
      PROXY_V2,
      TCP4,
      Buffer.concat([ipv4Block([203, 0, 113, 7], [10, 0, 0, 1], 1234, 80), tlvs]),
    )
    expect(parseProxyHeader(Buffer.concat([header, text('GET')]))).toMatchObject({
      state: 'header',
      header: { family: 'tcp4', source: { address: '203.0.113.7', port: 1234 } },
      consumed: header.length,
    })
  })

  it('asks for more until the whole block is in, whatever the split', () => {
    expectMoreForEveryPrefix(V2_TCP4)
    expectMoreForEveryPrefix(
      v2(PROXY_V2, TCP4, Buffer.concat([ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), tlv(1, text('h2'))])),
    )
  })

  it('accepts a block of the largest length allowed', () => {
    const block = Buffer.concat([
      ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2),
      tlv(0xee, Buffer.alloc(V2_MAX_LENGTH - 12 - 3)),
    ])
    expect(block.length).toBe(V2_MAX_LENGTH)
    expect(parseProxyHeader(v2(PROXY_V2, TCP4, block))).toMatchObject({
      state: 'header',
      consumed: 16 + V2_MAX_LENGTH,
    })
  })

  it.each([
    ['version 1', v2(0x11, TCP4, Buffer.alloc(12)), /followed by version 1, not 2/],
    ['version 3', v2(0x31, TCP4, Buffer.alloc(12)), /followed by version 3, not 2/],
    ['command 2', v2(0x22, TCP4, Buffer.alloc(12)), /command 2, neither LOCAL \(0\) nor PROXY \(1\)/],
    ['command 15', v2(0x2f, TCP4, Buffer.alloc(12)), /command 15/],
    ['family 4', v2(PROXY_V2, 0x41, Buffer.alloc(12)), /address family 4, not one this listener knows/],
    [
      'UDP over IPv4',
      v2(PROXY_V2, 0x12, Buffer.alloc(12)),
      /transport DGRAM; a stream listener takes STREAM \(1\) only/,
    ],
    ['UDP over IPv6', v2(PROXY_V2, 0x22, Buffer.alloc(36)), /transport DGRAM/],
    ['transport 0 over IPv4', v2(PROXY_V2, 0x10, Buffer.alloc(12)), /transport 0/],
    [
      'a block too short for IPv4',
      v2(PROXY_V2, TCP4, Buffer.alloc(8)),
      /gives 8 bytes for tcp4 addresses, which take 12/,
    ],
    [
      'a block too short for IPv6',
      v2(PROXY_V2, TCP6, Buffer.alloc(12)),
      /gives 12 bytes for tcp6 addresses, which take 36/,
    ],
    ['a block too short for AF_UNIX', v2(PROXY_V2, UNIX_STREAM, Buffer.alloc(100)), /which take 216/],
    [
      'a TLV longer than the block',
      v2(PROXY_V2, TCP4, Buffer.concat([Buffer.alloc(12), tlv(0x05, text('abc')).subarray(0, 5)])),
      /a TLV \(type 0x5\) longer than its block/,
    ],
    [
      'a block that ends inside a TLV head',
      v2(PROXY_V2, TCP4, Buffer.concat([Buffer.alloc(12), Buffer.from([0x05, 0x00])])),
      /ends inside a TLV's type and length/,
    ],
  ])('refuses %s', (_, header, message) => {
    const parse = refusal(parseProxyHeader(header))
    expect(parse.reason).toBe('malformed-v2')
    expect(parse.message).toMatch(message)
  })

  it('refuses a length past the limit from the first 16 bytes, without waiting for the block', () => {
    const parse = refusal(parseProxyHeader(v2(PROXY_V2, TCP4, Buffer.alloc(0), V2_MAX_LENGTH + 1)))
    expect(parse.reason).toBe('malformed-v2')
    expect(parse.message).toBe(
      `a version 2 header announces ${V2_MAX_LENGTH + 1} bytes of addresses and TLVs, over the limit of ${V2_MAX_LENGTH}`,
    )
    expect(refusal(parseProxyHeader(v2(PROXY_V2, TCP4, Buffer.alloc(0), 0xffff))).reason).toBe('malformed-v2')
  })

  it('refuses a bad version, command or family from the first 16 bytes', () => {
    expect(refusal(parseProxyHeader(v2(0x31, TCP4))).reason).toBe('malformed-v2')
    expect(refusal(parseProxyHeader(v2(PROXY_V2, 0x41, Buffer.alloc(0), 12))).reason).toBe('malformed-v2')
  })
})

describe('neither version', () => {
  it.each([
    ['an HTTP request', text('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), '"GET / HTTP/1.1\\r\\nHost: a\\r"'],
    ['a POST', text('POST /x HTTP/1.1\r\n'), '"POST /x HTTP/1.1\\r\\n"'],
    ['PROXY misspelt', text('PROXX TCP4'), '"PROXX TCP4"'],
    ['proxy in lower case', text('proxy TCP4'), '"proxy TCP4"'],
    ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 'a TLS handshake'],
    ['a uwsgi packet', Buffer.from([0x00, 0x10, 0x00, 0x00]), 'a binary message (uwsgi?)'],
    ['a broken version 2 signature', text('\r\n\r\n\0\r\nQUIX\n'), JSON.stringify('\r\n\r\n\0\r\nQUIX\n')],
    ['an HTTP/2 preface', text('PRI * HTTP/2.0\r\n'), '"PRI * HTTP/2.0\\r\\n"'],
  ])('refuses %s: "this listener expects the PROXY protocol"', (_, bytes, start) => {
    const parse = refusal(parseProxyHeader(bytes))
    expect(parse.reason).toBe('not-proxy')
    expect(parse.message).toBe(
      `this listener expects the PROXY protocol, but the connection began with ${start}`,
    )
  })

  it('decides from the first byte that matches neither signature', () => {
    expect(refusal(parseProxyHeader(text('G'))).reason).toBe('not-proxy')
    expect(refusal(parseProxyHeader(text('PR0'))).reason).toBe('not-proxy')
    expect(refusal(parseProxyHeader(text('\r\n\r\n\r'))).reason).toBe('not-proxy')
  })

  it('waits while the bytes could still be either signature', () => {
    for (const start of ['', 'P', 'PROX', 'PROXY', '\r', '\r\n\r\n\0\r\nQUI'])
      expect(parseProxyHeader(text(start)), JSON.stringify(start)).toEqual({ state: 'more' })
  })
})

// ---------------------------------------------------------------------------------------------
// readProxyHeader on real sockets

interface Pair {
  /** The accepted side, paused as the acceptor hands it over (pauseOnConnect). */
  readonly server: net.Socket
  readonly client: net.Socket
}

/** A TCP connection on 127.0.0.1, both ends; everything closed when the test ends. */
const tcpPair = async (): Promise<Pair> => {
  const listener = net.createServer({ pauseOnConnect: true })
  onTestFinished(() => {
    listener.close()
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve))
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1')
  client.on('error', () => {})
  const server = await accepted
  server.on('error', () => {})
  onTestFinished(() => {
    client.destroy()
    server.destroy()
  })
  await new Promise<void>((resolve) => (client.connecting ? client.once('connect', resolve) : resolve()))
  return { server, client }
}

/** The same over a Unix-domain socket in a temp dir: the server side has no remote address. */
const unixPair = async (): Promise<Pair> => {
  const file = path.join(tempDir(), 'proxy.sock')
  const listener = net.createServer({ pauseOnConnect: true })
  onTestFinished(() => {
    listener.close()
  })
  await new Promise<void>((resolve) => listener.listen(file, resolve))
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve))
  const client = net.connect(file)
  client.on('error', () => {})
  const server = await accepted
  server.on('error', () => {})
  onTestFinished(() => {
    client.destroy()
    server.destroy()
  })
  await new Promise<void>((resolve) => (client.connecting ? client.once('connect', resolve) : resolve()))
  return { server, client }
}

const loopback = trustedAddresses(['127.0.0.1', '::1'])

/** readProxyHeader's answer, and how many times it answered (checked once the socket closes). */
const read = (
  socket: Duplex,
  options: { trusted?: { has(address: string | undefined): boolean }; timeoutMs?: number } = {},
) => {
  const answers: ProxyAnswer[] = []
  const answered = new Promise<ProxyAnswer>((resolve) =>
    readProxyHeader(
      socket,
      { trusted: options.trusted ?? loopback, timeoutMs: options.timeoutMs ?? 10_000 },
      (answer) => {
        answers.push(answer)
        resolve(answer)
      },
    ),
  )
  return { answered, answers }
}

/** Everything `socket` yields from now until `bytes` of it arrived. */
const readExactly = (socket: net.Socket, bytes: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      total += chunk.length
      if (total >= bytes) {
        socket.off('data', onData)
        socket.pause()
        resolve(Buffer.concat(chunks))
      }
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error(`closed after ${total} of ${bytes} bytes`)))
    socket.resume()
  })

const listenerCounts = (socket: net.Socket) =>
  Object.fromEntries(
    ['data', 'end', 'close', 'error', 'readable'].map((event) => [event, socket.listenerCount(event)]),
  )

/** Every byte value, twice: what follows the header must come out exactly as it went in. */
const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
])

/** Everything a client receives until the connection closes. */
const readAll = (socket: net.Socket): Promise<string> =>
  new Promise((resolve) => {
    let received = ''
    socket.on('data', (chunk) => {
      received += chunk
    })
    socket.once('close', () => resolve(received))
  })

const closed = (socket: net.Socket) =>
  new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())))

describe('readProxyHeader', () => {
  it('answers with the declared client for a header that arrives alone, and the connection reads on after it', async () => {
    const { server, client } = await tcpPair()
    const before = listenerCounts(server)
    const { answered, answers } = read(server)
    client.write(V1_TCP4)
    const answer = await answered
    expect(answer).toEqual({
      ok: true,
      address: '192.0.2.1',
      port: 56324,
      family: 'IPv4',
      declared: true,
      header: {
        version: 1,
        command: 'proxy',
        family: 'tcp4',
        source: { address: '192.0.2.1', port: 56324 },
        destination: { address: '198.51.100.2', port: 443 },
      },
    })
    // Left as found: paused, nothing of its own listening, nothing read past the header.
    expect(server.isPaused()).toBe(true)
    expect(listenerCounts(server)).toEqual(before)
    expect(server.readableLength).toBe(0)
    client.write('next bytes')
    expect((await readExactly(server, 10)).toString()).toBe('next bytes')
    client.destroy()
    await closed(server)
    expect(answers).toHaveLength(1)
  })

  it('puts the bytes that came with the header back into the socket, byte-exact (v2 and v1)', async () => {
    for (const header of [V2_TCP4, V1_TCP4]) {
      const { server, client } = await tcpPair()
      const { answered } = read(server)
      client.write(Buffer.concat([header, BINARY]))
      expect(await answered).toMatchObject({ ok: true, address: '192.0.2.1', port: 56324, declared: true })
      expect(server.isPaused()).toBe(true)
      // What came after the header is the connection's own: the next reader gets all of it, first.
      client.write('and then')
      const rest = await readExactly(server, BINARY.length + 8)
      expect(rest.equals(Buffer.concat([BINARY, text('and then')]))).toBe(true)
    }
  })

  it('reads a header that arrives one byte per packet', async () => {
    const { server, client } = await tcpPair()
    client.setNoDelay(true)
    // Counts the chunks the server side sees, to send each byte only once the previous one arrived.
    let seen = 0
    let arrived: () => void = () => {}
    const spy = () => {
      seen++
      arrived()
    }
    server.on('data', spy)
    const { answered } = read(server)
    const header = v2(
      PROXY_V2,
      TCP6,
      ipv6Block([0x2001, 0xdb8, 0, 0, 0, 0, 0, 9], [0, 0, 0, 0, 0, 0, 0, 1], 5000, 80),
    )
    for (let i = 0; i < header.length; i++) {
      const next = new Promise<void>((resolve) => {
        arrived = resolve
      })
      client.write(header.subarray(i, i + 1))
      await next
    }
    const answer = await answered
    server.off('data', spy)
    expect(seen).toBe(header.length)
    expect(answer).toMatchObject({
      ok: true,
      address: '2001:db8::9',
      port: 5000,
      family: 'IPv6',
      declared: true,
    })
  })

  it('keeps the real peer for v2 LOCAL and v1 UNKNOWN', async () => {
    for (const header of [v2(LOCAL_V2, 0x00), text('PROXY UNKNOWN\r\n')]) {
      const { server, client } = await tcpPair()
      const { answered } = read(server)
      client.write(header)
      expect(await answered).toMatchObject({
        ok: true,
        address: '127.0.0.1',
        port: client.localPort,
        family: 'IPv4',
        declared: false,
      })
    }
  })

  it('keeps the real peer for a v2 AF_UNIX client', async () => {
    const { server, client } = await tcpPair()
    const { answered } = read(server)
    client.write(v2(PROXY_V2, UNIX_STREAM, Buffer.alloc(216)))
    expect(await answered).toMatchObject({
      ok: true,
      address: '127.0.0.1',
      port: client.localPort,
      declared: false,
    })
  })

  it('refuses an untrusted peer at once, reading nothing', async () => {
    const { server, client } = await tcpPair()
    client.write(Buffer.concat([V1_TCP4, text('GET / HTTP/1.1\r\n\r\n')]))
    const { answered } = read(server, { trusted: trustedAddresses(['10.0.0.0/8']) })
    // Not read at all: the socket was never set flowing.
    expect(server.readableFlowing).not.toBe(true)
    const answer = await answered
    expect(answer).toMatchObject({ ok: false, reason: 'untrusted' })
    if (answer.ok) throw new Error('unreachable')
    expect(answer.error).toBeInstanceOf(ProxyProtocolError)
    expect(answer.error).toBeInstanceOf(TroupeError)
    expect(answer.error.code).toBe('TROUPE_E_PROXY_PROTOCOL')
    expect(answer.error.reason).toBe('untrusted')
    expect(answer.error.message).toBe(
      `PROXY protocol from 127.0.0.1:${client.localPort}: this peer is not among the trusted addresses that may send a PROXY header`,
    )
    // Not destroyed, and every byte still there for whoever looks.
    expect(server.destroyed).toBe(false)
    const all = await readExactly(server, V1_TCP4.length + 18)
    expect(all.subarray(0, V1_TCP4.length).equals(V1_TCP4)).toBe(true)
  })

  it('refuses a connection that does not start with a PROXY header, leaving it open', async () => {
    const { server, client } = await tcpPair()
    const { answered } = read(server)
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
    const answer = await answered
    expect(answer).toMatchObject({ ok: false, reason: 'not-proxy' })
    if (answer.ok) throw new Error('unreachable')
    expect(answer.error.message).toBe(
      `PROXY protocol from 127.0.0.1:${client.localPort}: this listener expects the PROXY protocol, but the connection began with "GET / HTTP/1.1\\r\\nHost: a\\r"`,
    )
    expect(server.destroyed).toBe(false)
  })

  it.each([
    ['malformed-v1', text('PROXY TCP4 192.0.2.1 198.51.100.2 99999 443\r\n')],
    ['malformed-v2', v2(0x22, TCP4, Buffer.alloc(12))],
  ])('refuses a %s header', async (reason, header) => {
    const { server, client } = await tcpPair()
    const { answered } = read(server)
    client.write(header)
    expect(await answered).toMatchObject({
      ok: false,
      reason,
      error: { reason, code: 'TROUPE_E_PROXY_PROTOCOL' },
    })
  })

  it('refuses a client that closes inside the header (truncated), and answers once', async () => {
    const { server, client } = await tcpPair()
    const { answered, answers } = read(server)
    client.end('PROXY TCP4 192.0.2.1')
    const answer = await answered
    expect(answer).toMatchObject({ ok: false, reason: 'truncated' })
    if (answer.ok) throw new Error('unreachable')
    expect(answer.error.message).toMatch(/the peer closed the connection after 20 bytes of a PROXY header$/)
    server.destroy()
    await closed(server)
    expect(answers).toHaveLength(1)
  })

  it('refuses a client that closes before sending anything (truncated)', async () => {
    const { server, client } = await tcpPair()
    const { answered } = read(server)
    client.end()
    const answer = await answered
    expect(answer).toMatchObject({ ok: false, reason: 'truncated' })
    if (answer.ok) throw new Error('unreachable')
    expect(answer.error.message).toMatch(/before sending a PROXY header$/)
  })

  it('refuses a connection that resets inside the header (truncated, the error as cause)', async () => {
    const { server, client } = await tcpPair()
    const { answered } = read(server)
    client.write('PROXY TCP4 ')
    await new Promise<void>((resolve) => server.once('data', () => resolve()))
    client.resetAndDestroy()
    const answer = await answered
    expect(answer).toMatchObject({ ok: false, reason: 'truncated' })
  })

  it('refuses a socket that is already closed when it is handed over', async () => {
    const { server } = await tcpPair()
    server.destroy()
    await closed(server)
    const { answered } = read(server)
    expect(await answered).toMatchObject({ ok: false, reason: 'truncated' })
  })

  it('refuses a header not whole within the timeout, without destroying the socket, and answers once', async () => {
    const { server, client } = await tcpPair()
    const before = listenerCounts(server)
    const { answered, answers } = read(server, { timeoutMs: 50 })
    client.write('PROXY TCP4 192.0')
    const answer = await answered
    expect(answer).toMatchObject({ ok: false, reason: 'timeout' })
    if (answer.ok) throw new Error('unreachable')
    expect(answer.error.message).toMatch(/no whole PROXY header within 50 ms$/)
    expect(server.destroyed).toBe(false)
    expect(listenerCounts(server)).toEqual(before)
    // The rest of the header, then a close, come too late to answer again.
    client.end(' 198.51.100.2 1 2\r\n')
    server.resume()
    await closed(server)
    expect(answers).toHaveLength(1)
  })

  it('over a Unix socket: trusted where loopback is, refused where it is not', async () => {
    {
      const { server, client } = await unixPair()
      const { answered } = read(server, { trusted: trustedAddresses(['127.0.0.1']) })
      client.write(Buffer.concat([V2_TCP4, text('GET /')]))
      expect(await answered).toMatchObject({ ok: true, address: '192.0.2.1', port: 56324, declared: true })
      expect((await readExactly(server, 5)).toString()).toBe('GET /')
    }
    {
      const { server, client } = await unixPair()
      const { answered } = read(server, { trusted: trustedAddresses(['127.0.0.1']) })
      client.write(v2(LOCAL_V2, 0x00))
      // LOCAL keeps the real peer, which a Unix socket does not name.
      expect(await answered).toMatchObject({ ok: true, address: undefined, port: undefined, declared: false })
    }
    {
      const { server } = await unixPair()
      const { answered } = read(server, { trusted: trustedAddresses(['10.0.0.0/8']) })
      const answer = await answered
      expect(answer).toMatchObject({ ok: false, reason: 'untrusted' })
      if (answer.ok) throw new Error('unreachable')
      expect(answer.error.message).toMatch(/^PROXY protocol from a Unix-socket peer: /)
    }
  })
})

describe('ProxyProtocolError', () => {
  it('carries its reason, and comes back across a boundary as its class (code and message)', () => {
    const error = new ProxyProtocolError('PROXY protocol from 10.0.0.9:1: late', { reason: 'timeout' })
    expect(error.reason).toBe('timeout')
    expect(error.code).toBe('TROUPE_E_PROXY_PROTOCOL')
    const rebuilt = deserializeError(serializeError(error))
    expect(rebuilt).toBeInstanceOf(ProxyProtocolError)
    expect(rebuilt).toMatchObject({
      code: 'TROUPE_E_PROXY_PROTOCOL',
      message: error.message,
      name: 'ProxyProtocolError',
    })
  })
})

describe('node:http after the header', () => {
  /**
   * The worker's way for a plain bind: read the header, then hand the socket to node:http
   * ('connection') and resume it, optionally through the HTTP/2 preface sniff first.
   */
  const serveHttp = async (sniff: boolean) => {
    const app = http.createServer((req, res) => res.end(`${req.method} ${req.url} ${req.headers['x-n']}`))
    const { server, client } = await tcpPair()
    readProxyHeader(server, { trusted: loopback, timeoutMs: 10_000 }, (answer) => {
      if (!answer.ok) return server.destroy(answer.error)
      const handOver = () => {
        app.emit('connection', server)
        server.resume()
      }
      if (sniff) sniffPreface(server, 10_000, (h2) => (h2 ? server.destroy() : handOver()))
      else handOver()
    })
    return client
  }

  it.each([
    ['directly', false],
    ['through the HTTP/2 preface sniff', true],
  ])('serves requests that came in the same packet as the header, %s', async (_, sniff) => {
    const client = await serveHttp(sniff)
    const received = readAll(client)
    client.end(
      Buffer.concat([
        V2_TCP4,
        text('GET /a HTTP/1.1\r\nHost: x\r\nX-N: 1\r\n\r\n'),
        text('GET /b HTTP/1.1\r\nHost: x\r\nX-N: 2\r\nConnection: close\r\n\r\n'),
      ]),
    )
    const replies = (await received).match(/GET \/\w \d/g)
    expect(replies).toEqual(['GET /a 1', 'GET /b 2'])
  })
})

describe('a TLS handshake after the header', () => {
  let certs: TestCerts
  beforeAll(() => {
    certs = makeCerts()
  })
  afterAll(() => {
    if (certs) rmSync(certs.dir, { recursive: true, force: true })
  })

  /**
   * The worker's way: read the header off the raw socket, then wrap it in a server-side
   * TLSSocket (as transports/http/tls.ts does) and resume it. Resolves with what the client sent
   * over TLS once the server answered it.
   */
  const serveTls = (server: net.Socket, wrapped: () => void = () => {}) =>
    new Promise<{ answer: ProxyAnswer; received: string }>((resolve, reject) => {
      readProxyHeader(server, { trusted: loopback, timeoutMs: 10_000 }, (answer) => {
        if (!answer.ok) return reject(answer.error)
        const secure = new tls.TLSSocket(server, {
          isServer: true,
          secureContext: tls.createSecureContext({
            cert: readFileSync(certs.cert),
            key: readFileSync(certs.key),
          }),
        })
        secure.on('error', reject)
        secure.once('data', (chunk: Buffer) => {
          secure.end(`hello ${chunk}`)
          resolve({ answer, received: chunk.toString() })
        })
        server.resume()
        wrapped()
      })
    })

  const connectTls = (socket: Duplex) => {
    const client = tls.connect({ socket, servername: 'localhost', ca: readFileSync(certs.ca) })
    onTestFinished(() => {
      client.destroy()
    })
    const reply = new Promise<string>((resolve, reject) => {
      let text = ''
      client.on('data', (chunk) => {
        text += chunk
      })
      client.on('end', () => resolve(text))
      client.on('error', reject)
    })
    client.once('secureConnect', () => client.write('client'))
    return reply
  }

  it('completes when the ClientHello came in the same packet as the header (unshifted)', async () => {
    const { server, client } = await tcpPair()
    const served = serveTls(server)
    // The TLS client writes into a pipe; its first flight goes out glued to the header in one write.
    const [mine, theirs] = duplexPair()
    let first = true
    theirs.on('data', (chunk: Buffer) => {
      client.write(first ? Buffer.concat([V2_TCP4, chunk]) : chunk)
      first = false
    })
    client.on('data', (chunk) => theirs.write(chunk))
    client.on('end', () => theirs.end())
    const reply = connectTls(mine)
    const { answer, received } = await served
    expect(answer).toMatchObject({ ok: true, address: '192.0.2.1', port: 56324 })
    expect(received).toBe('client')
    expect(await reply).toBe('hello client')
  })

  it('completes when the ClientHello comes after the header was read', async () => {
    const { server, client } = await tcpPair()
    let wrapped: () => void = () => {}
    const ready = new Promise<void>((resolve) => {
      wrapped = resolve
    })
    const served = serveTls(server, wrapped)
    client.write(V1_TCP4)
    // The hello leaves only once the server has read the header and wrapped the socket.
    await ready
    const reply = connectTls(client)
    const { answer, received } = await served
    expect(answer).toMatchObject({ ok: true, address: '192.0.2.1', port: 56324 })
    expect(received).toBe('client')
    expect(await reply).toBe('hello client')
  })
})
