/**
 * The uwsgi protocol's request side: the packet nginx's uwsgi_pass sends (header, vars), the
 * HTTP/1.1 head its vars stand for, and a connection read off a real socket and handed to a
 * real node:http server, whose app sees the request as nginx received it. Every refusal has its
 * reason; no refusal, cut or stall leaves the reader hanging.
 */
import crypto from 'node:crypto'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { TroupeError, UwsgiPacketError } from '../runtime/index.ts'
import { parseUwsgiPacket, type UwsgiLimits } from '../transports/uwsgi/uwsgi-packet.ts'
import { readUwsgiRequest } from '../transports/uwsgi/uwsgi-reader.ts'
import { type UwsgiRequest, uwsgiRequest } from '../transports/uwsgi/uwsgi-request.ts'
import { uwsgiResponse } from '../transports/uwsgi/uwsgi-response.ts'
import { encodeVar, nginxVars, packetOf, uwsgiPacket, uwsgiTestServer, type Vars } from './support/uwsgi.ts'

const limits: UwsgiLimits = { maxVarsSize: 4096, maxVars: 64 }

/** The head a request's vars make, as text; fails the test on a refusal. */
const headOf = (vars: Vars): string => {
  const request = uwsgiRequest(vars)
  if (request.kind !== 'request') throw new Error(`refused: ${request.reason}: ${request.message}`)
  return request.head.toString('latin1')
}

const requestOf = (vars: Vars): UwsgiRequest => {
  const request = uwsgiRequest(vars)
  if (request.kind !== 'request') throw new Error(`refused: ${request.reason}: ${request.message}`)
  return request
}

const refusalOf = (vars: Vars) => {
  const request = uwsgiRequest(vars)
  if (request.kind !== 'refused') throw new Error(`served: ${request.head.toString('latin1')}`)
  return request
}

describe('the packet', () => {
  it('reads modifiers, vars in order with repeats, and where the body starts', () => {
    const packet = uwsgiPacket(
      [
        ['REQUEST_METHOD', 'POST'],
        ['HTTP_COOKIE', 'a=1'],
        ['HTTP_COOKIE', 'b=2'],
        ['EMPTY', ''],
        ['LATIN1', 'caf\xe9'],
      ],
      { modifier2: 7 },
    )
    const parsed = parseUwsgiPacket(Buffer.concat([packet, Buffer.from('body')]), limits)
    expect(parsed).toEqual({
      kind: 'packet',
      modifier1: 0,
      modifier2: 7,
      vars: [
        ['REQUEST_METHOD', 'POST'],
        ['HTTP_COOKIE', 'a=1'],
        ['HTTP_COOKIE', 'b=2'],
        ['EMPTY', ''],
        ['LATIN1', 'café'],
      ],
      consumed: packet.length,
    })
  })

  it('asks for more on every prefix of a packet, never beyond the packet, and reads it whole', () => {
    const packet = uwsgiPacket(nginxVars({ uri: '/a?b=c' }, [['HTTP_HOST', 'shop.example']]))
    for (let n = 0; n < packet.length; n++) {
      const parsed = parseUwsgiPacket(packet.subarray(0, n), limits)
      expect(parsed.kind, `prefix of ${n} bytes`).toBe('more')
      if (parsed.kind === 'more') {
        expect(parsed.needed).toBeGreaterThan(n)
        expect(parsed.needed).toBeLessThanOrEqual(packet.length)
      }
    }
    expect(parseUwsgiPacket(packet, limits).kind).toBe('packet')
  })

  it('an empty vars block is a packet with no vars', () => {
    expect(parseUwsgiPacket(packetOf(Buffer.alloc(0)), limits)).toMatchObject({
      kind: 'packet',
      vars: [],
      consumed: 4,
    })
  })

  const refusals: Array<[string, Buffer, string, RegExp, UwsgiLimits?]> = [
    [
      'modifier1 other than 0',
      packetOf(encodeVar('A', 'b'), { modifier1: 5 }),
      'modifier1',
      /^modifier1 5 is not served; only 0 \(WSGI\/HTTP vars\)$/,
    ],
    ['modifier1 other than 0, seen in the first byte', Buffer.from([30]), 'modifier1', /modifier1 30/],
    ['a TLS handshake', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), 'modifier1', /modifier1 22/],
    [
      'plain HTTP',
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      'http-on-uwsgi',
      /this socket speaks the uwsgi protocol/,
    ],
    ['plain HTTP, a longer method', Buffer.from('OPTIONS * HTTP/1.1\r\n'), 'http-on-uwsgi', /uwsgi_pass/],
    ['plain HTTP, a WebDAV method', Buffer.from('PROPFIND /dav HTTP/1.1\r\n'), 'http-on-uwsgi', /plain HTTP/],
    ['letters but no request line', Buffer.from('Hello'), 'modifier1', /modifier1 72/],
    [
      'a vars block over the limit (from the header alone)',
      Buffer.from([0, 0x01, 0x10, 0]),
      'vars-too-large',
      /4097 bytes, over the limit of 4096/,
    ],
    [
      'more vars than allowed',
      uwsgiPacket([
        ['A', '1'],
        ['B', '2'],
        ['C', '3'],
      ]),
      'too-many-vars',
      /more than 2 vars/,
      { maxVarsSize: 4096, maxVars: 2 },
    ],
    [
      'a key running past the block',
      packetOf(Buffer.from([9, 0, 0x41, 0x42])),
      'var-overrun',
      /key \(9 bytes\) runs past/,
    ],
    [
      'a key with no room for its value length',
      packetOf(Buffer.from([1, 0, 0x41, 0])),
      'var-overrun',
      /runs past/,
    ],
    [
      'a value running past the block',
      packetOf(Buffer.from([1, 0, 0x41, 5, 0, 0x62])),
      'var-overrun',
      /value of "A" \(5 bytes\) runs past/,
    ],
    [
      'a value running past the block into the body',
      Buffer.concat([packetOf(Buffer.from([1, 0, 0x41, 5, 0, 0x62])), Buffer.from('bodybody')]),
      'var-overrun',
      /runs past/,
    ],
    [
      'a byte left over',
      packetOf(Buffer.concat([encodeVar('A', 'b'), Buffer.from([7])])),
      'vars-leftover',
      /1 byte\(s\) that are not a var/,
    ],
    [
      'an empty key',
      packetOf(Buffer.concat([encodeVar('A', 'b'), Buffer.from([0, 0, 1, 0, 0x62])])),
      'empty-key',
      /var 2 has an empty key/,
    ],
    [
      'a key with CR',
      uwsgiPacket([['HTTP_X\rY', 'v']]),
      'forbidden-byte',
      /key "HTTP_X\\rY" contains a CR, LF or NUL/,
    ],
    [
      'a value with LF',
      uwsgiPacket([['HTTP_X', 'a\nInjected: 1']]),
      'forbidden-byte',
      /value of "HTTP_X" contains/,
    ],
    [
      'a value with CRLF',
      uwsgiPacket([['HTTP_X', 'a\r\n\r\nGET /smuggled HTTP/1.1']]),
      'forbidden-byte',
      /value of "HTTP_X"/,
    ],
    ['a value with NUL', uwsgiPacket([['REQUEST_URI', '/a\0b']]), 'forbidden-byte', /REQUEST_URI/],
  ]
  it.each(refusals)('refuses %s', (_, bytes, reason, message, withLimits) => {
    const parsed = parseUwsgiPacket(bytes, withLimits ?? limits)
    expect(parsed).toMatchObject({ kind: 'refused', reason })
    if (parsed.kind === 'refused') expect(parsed.message).toMatch(message)
  })

  it('waits for the method of what may be plain HTTP, and refuses it as soon as it can tell', () => {
    expect(parseUwsgiPacket(Buffer.from('G'), limits)).toEqual({ kind: 'more', needed: 2 })
    expect(parseUwsgiPacket(Buffer.from('PROPFIN'), limits).kind).toBe('more')
    expect(parseUwsgiPacket(Buffer.from('GET '), limits)).toMatchObject({ reason: 'http-on-uwsgi' })
    expect(parseUwsgiPacket(Buffer.from('GET\t'), limits)).toMatchObject({ reason: 'modifier1' })
    expect(parseUwsgiPacket(Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), limits)).toMatchObject({
      reason: 'modifier1',
    })
  })
})

describe('the HTTP/1.1 head the vars stand for', () => {
  it("nginx's stock uwsgi_params: request line, the client's headers, Content-Type and Content-Length", () => {
    const head = headOf(
      nginxVars({ method: 'POST', uri: '/cart/add?id=7&qty=2', body: 11, contentType: 'application/json' }, [
        ['HTTP_HOST', 'shop.example:8443'],
        ['HTTP_USER_AGENT', 'curl/8.5.0'],
        ['HTTP_ACCEPT', '*/*'],
        ['HTTP_CONTENT_TYPE', 'application/json'],
        ['HTTP_CONTENT_LENGTH', '11'],
        ['HTTP_X_FORWARDED_FOR', '198.51.100.1'],
      ]),
    )
    expect(head).toBe(
      'POST /cart/add?id=7&qty=2 HTTP/1.1\r\n' +
        'Content-Type: application/json\r\n' +
        'Host: shop.example:8443\r\n' +
        'User-Agent: curl/8.5.0\r\n' +
        'Accept: */*\r\n' +
        'X-Forwarded-For: 198.51.100.1\r\n' +
        'Content-Length: 11\r\n' +
        '\r\n',
    )
  })

  it('HTTP_FOO_BAR is Foo-Bar; vars that are neither headers nor request facts stay out', () => {
    expect(
      headOf([
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_URI', '/'],
        ['HTTP_X_REQUEST_ID', 'abc'],
        ['HTTP_accept_LANGUAGE', 'fr'],
        ['HTTP_DNT', '1'],
        ['HTTP_X__DOUBLE', 'y'],
        ['DOCUMENT_ROOT', '/srv'],
        ['UWSGI_SCRIPT', 'app'],
        ['SCRIPT_NAME', ''],
      ]),
    ).toBe('GET / HTTP/1.1\r\nX-Request-Id: abc\r\nAccept-Language: fr\r\nDnt: 1\r\nX--Double: y\r\n\r\n')
  })

  it('never forwards HTTP_CONTENT_LENGTH or HTTP_TRANSFER_ENCODING: the body is CONTENT_LENGTH bytes', () => {
    const vars: Vars = [
      ['REQUEST_METHOD', 'POST'],
      ['REQUEST_URI', '/'],
      ['HTTP_TRANSFER_ENCODING', 'chunked'],
      ['HTTP_CONTENT_LENGTH', '999'],
      ['CONTENT_LENGTH', '4'],
    ]
    expect(headOf(vars)).toBe('POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n')
    expect(requestOf(vars).contentLength).toBe(4)
    // Without CONTENT_LENGTH there is no body, whatever the client's headers claimed.
    expect(headOf(vars.slice(0, 4))).toBe('POST / HTTP/1.1\r\n\r\n')
    expect(requestOf(vars.slice(0, 4)).contentLength).toBe(0)
  })

  it('a header var is known by the header it names, whatever the case of its letters', () => {
    const vars: Vars = [
      ['REQUEST_METHOD', 'POST'],
      ['REQUEST_URI', '/'],
      ['HTTP_Content_Length', '999'],
      ['HTTP_transfer_ENCODING', 'chunked'],
      ['HTTP_CONTeNT_TYPE', 'text/evil'],
      ['CONTENT_TYPE', 'text/plain'],
      ['HTTP_HOST', 'a.example'],
      ['HTTP_host', 'b.example'],
    ]
    expect(headOf(vars)).toBe(
      'POST / HTTP/1.1\r\nContent-Type: text/plain\r\nHost: a.example, b.example\r\n\r\n',
    )
  })

  it('CONTENT_LENGTH: digits, leading zeros dropped; empty is absent', () => {
    const base: Vars = [
      ['REQUEST_METHOD', 'PUT'],
      ['REQUEST_URI', '/x'],
    ]
    expect(headOf([...base, ['CONTENT_LENGTH', '0']])).toBe('PUT /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n')
    expect(headOf([...base, ['CONTENT_LENGTH', '0042']])).toBe(
      'PUT /x HTTP/1.1\r\nContent-Length: 42\r\n\r\n',
    )
    expect(headOf([...base, ['CONTENT_LENGTH', '']])).toBe('PUT /x HTTP/1.1\r\n\r\n')
    expect(requestOf([...base, ['CONTENT_LENGTH', '9007199254740991']]).contentLength).toBe(
      Number.MAX_SAFE_INTEGER,
    )
    expect(headOf([...base, ['CONTENT_LENGTH', '5'], ['CONTENT_LENGTH', '5']])).toContain(
      'Content-Length: 5\r\n\r\n',
    )
  })

  it.each([
    ['abc'],
    ['-1'],
    ['+5'],
    [' 5'],
    ['5 '],
    ['1e3'],
    ['0x10'],
    ['1.5'],
    ['9007199254740992'],
    ['99999999999999999999'],
  ])('refuses CONTENT_LENGTH %j as bad-content-length', (value) => {
    expect(
      refusalOf([
        ['REQUEST_METHOD', 'POST'],
        ['REQUEST_URI', '/'],
        ['CONTENT_LENGTH', value],
      ]),
    ).toMatchObject({
      reason: 'bad-content-length',
    })
  })

  it('refuses two different CONTENT_LENGTHs (which one frames the body?)', () => {
    expect(
      refusalOf([
        ['REQUEST_METHOD', 'POST'],
        ['REQUEST_URI', '/'],
        ['CONTENT_LENGTH', '5'],
        ['CONTENT_LENGTH', '50'],
      ]),
    ).toMatchObject({ reason: 'bad-content-length', message: expect.stringMatching(/twice/) })
  })

  it("Content-Type: CONTENT_TYPE's when it has one, else the client's HTTP_CONTENT_TYPE", () => {
    const base: Vars = [
      ['REQUEST_METHOD', 'POST'],
      ['REQUEST_URI', '/'],
    ]
    expect(headOf([...base, ['HTTP_CONTENT_TYPE', 'text/evil'], ['CONTENT_TYPE', 'text/plain']])).toBe(
      'POST / HTTP/1.1\r\nContent-Type: text/plain\r\n\r\n',
    )
    expect(headOf([...base, ['CONTENT_TYPE', ''], ['HTTP_CONTENT_TYPE', 'text/csv']])).toBe(
      'POST / HTTP/1.1\r\nContent-Type: text/csv\r\n\r\n',
    )
    expect(headOf([...base, ['CONTENT_TYPE', '']])).toBe('POST / HTTP/1.1\r\n\r\n')
  })

  it('Host: HTTP_HOST, else SERVER_NAME with SERVER_PORT unless it is the default for the scheme', () => {
    const base: Vars = [
      ['REQUEST_METHOD', 'GET'],
      ['REQUEST_URI', '/'],
    ]
    const host = (vars: Vars) => /\r\nHost: ([^\r]*)\r\n/.exec(headOf([...base, ...vars]))?.[1]
    expect(
      host([
        ['SERVER_NAME', 'a.example'],
        ['SERVER_PORT', '80'],
        ['HTTP_HOST', 'b.example'],
      ]),
    ).toBe('b.example')
    expect(
      host([
        ['SERVER_NAME', 'a.example'],
        ['SERVER_PORT', '80'],
      ]),
    ).toBe('a.example')
    expect(
      host([
        ['SERVER_NAME', 'a.example'],
        ['SERVER_PORT', '8080'],
      ]),
    ).toBe('a.example:8080')
    expect(
      host([
        ['SERVER_NAME', 'a.example'],
        ['SERVER_PORT', '443'],
        ['HTTPS', 'on'],
      ]),
    ).toBe('a.example')
    expect(
      host([
        ['SERVER_NAME', 'a.example'],
        ['SERVER_PORT', '443'],
      ]),
    ).toBe('a.example:443')
    expect(host([['SERVER_NAME', 'a.example']])).toBe('a.example')
    expect(
      host([
        ['SERVER_NAME', '::1'],
        ['SERVER_PORT', '8080'],
      ]),
    ).toBe('[::1]:8080')
    expect(host([['SERVER_PORT', '8080']])).toBeUndefined()
    expect(headOf(base)).toBe('GET / HTTP/1.1\r\n\r\n')
  })

  it('repeated vars join as HTTP joins repeated headers: Cookie with "; ", others with ", , empty ones adding nothing"', () => {
    expect(
      headOf([
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_URI', '/'],
        ['HTTP_COOKIE', 'a=1'],
        ['HTTP_ACCEPT', 'text/html'],
        ['HTTP_COOKIE', 'b=2'],
        ['HTTP_ACCEPT', 'application/json'],
        ['HTTP_COOKIE', 'c=3'],
        ['HTTP_USER_AGENT', 'one'],
        ['HTTP_USER_AGENT', 'two'],
        ['HTTP_X_EMPTY', ''],
        ['HTTP_X_EMPTY', 'e'],
        ['HTTP_X_EMPTY', ''],
        ['CONTENT_TYPE', ''],
        ['CONTENT_TYPE', 'text/plain'],
      ]),
    ).toBe(
      'GET / HTTP/1.1\r\nCookie: a=1; b=2; c=3\r\nAccept: text/html, application/json\r\nUser-Agent: one, two\r\n' +
        'X-Empty: e\r\nContent-Type: text/plain\r\n\r\n',
    )
  })

  it('SERVER_PROTOCOL HTTP/1.0 makes an HTTP/1.0 request; anything else (HTTP/2.0 too) HTTP/1.1', () => {
    const line = (protocol?: string) =>
      headOf([
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_URI', '/'],
        ...(protocol ? [['SERVER_PROTOCOL', protocol] as const] : []),
      ]).split('\r\n')[0]
    expect(line('HTTP/1.0')).toBe('GET / HTTP/1.0')
    expect(line('HTTP/1.1')).toBe('GET / HTTP/1.1')
    expect(line('HTTP/2.0')).toBe('GET / HTTP/1.1')
    expect(line()).toBe('GET / HTTP/1.1')
  })

  it('without REQUEST_URI the target is PATH_INFO, %-encoded where a path cannot hold it, and ?QUERY_STRING', () => {
    const line = (vars: Vars) => headOf([['REQUEST_METHOD', 'GET'], ...vars]).split('\r\n')[0]
    expect(
      line([
        ['PATH_INFO', '/a b/caf\xe9/50%?#'],
        ['QUERY_STRING', 'q=a b&r=#1'],
      ]),
    ).toBe('GET /a%20b/caf%E9/50%25%3F%23?q=a%20b&r=%231 HTTP/1.1')
    expect(
      line([
        ['PATH_INFO', "/keep/-._~!$&'()*+,;=:@"],
        ['QUERY_STRING', ''],
      ]),
    ).toBe("GET /keep/-._~!$&'()*+,;=:@ HTTP/1.1")
    expect(
      line([
        ['PATH_INFO', ''],
        ['QUERY_STRING', 'x=1'],
      ]),
    ).toBe('GET /?x=1 HTTP/1.1')
    expect(line([['PATH_INFO', 'relative']])).toBe('GET /relative HTTP/1.1')
    expect(line([])).toBe('GET / HTTP/1.1')
    // An empty REQUEST_URI is no REQUEST_URI.
    expect(
      line([
        ['REQUEST_URI', ''],
        ['PATH_INFO', '/p'],
      ]),
    ).toBe('GET /p HTTP/1.1')
  })

  it('REQUEST_URI goes as given, with the bytes node:http refuses in a target %-encoded', () => {
    const line = (uri: string) =>
      headOf([
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_URI', uri],
        ['PATH_INFO', '/ignored'],
      ]).split('\r\n')[0]
    expect(line('/a%20b/c?d=e&f=%2F')).toBe('GET /a%20b/c?d=e&f=%2F HTTP/1.1')
    expect(line('/a b\tc\x7f\xe9')).toBe('GET /a%20b%09c%7F%E9 HTTP/1.1')
    expect(line('*')).toBe('GET * HTTP/1.1')
  })

  it.each([
    [[['HTTPS', 'on']], true],
    [[['HTTPS', 'ON']], true],
    [[['HTTPS', '1']], true],
    [[['HTTPS', 'off']], false],
    [[['HTTPS', '']], false],
    [[['wsgi.url_scheme', 'https']], true],
    [[['UWSGI_SCHEME', 'HTTPS']], true],
    [[['REQUEST_SCHEME', 'https']], true],
    [[['REQUEST_SCHEME', 'http']], false],
    [[], false],
  ] as Array<[Vars, boolean]>)('https from %j is %s', (vars, https) => {
    expect(requestOf([['REQUEST_METHOD', 'GET'], ...vars]).https).toBe(https)
  })

  it('the client address and port from REMOTE_ADDR and REMOTE_PORT (a port only when it is one)', () => {
    const remote = (vars: Vars) => {
      const { remoteAddress, remotePort } = requestOf([['REQUEST_METHOD', 'GET'], ...vars])
      return { remoteAddress, remotePort }
    }
    expect(
      remote([
        ['REMOTE_ADDR', '203.0.113.7'],
        ['REMOTE_PORT', '54321'],
      ]),
    ).toEqual({
      remoteAddress: '203.0.113.7',
      remotePort: 54321,
    })
    expect(
      remote([
        ['REMOTE_ADDR', '2001:db8::1'],
        ['REMOTE_PORT', '65535'],
      ]),
    ).toEqual({
      remoteAddress: '2001:db8::1',
      remotePort: 65535,
    })
    expect(
      remote([
        ['REMOTE_ADDR', ''],
        ['REMOTE_PORT', '65536'],
      ]),
    ).toEqual({ remoteAddress: undefined, remotePort: undefined })
    expect(remote([['REMOTE_PORT', 'http']])).toEqual({ remoteAddress: undefined, remotePort: undefined })
    expect(remote([])).toEqual({ remoteAddress: undefined, remotePort: undefined })
  })

  it('keeps HTTP_CONNECTION and HTTP_UPGRADE as given (a WebSocket upgrade stays one)', () => {
    expect(
      headOf([
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_URI', '/ws'],
        ['HTTP_CONNECTION', 'Upgrade'],
        ['HTTP_UPGRADE', 'websocket'],
      ]),
    ).toBe('GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  })

  const requestRefusals: Array<[string, Vars, string]> = [
    ['no REQUEST_METHOD', [['REQUEST_URI', '/']], 'no-method'],
    ['an empty REQUEST_METHOD', [['REQUEST_METHOD', '']], 'no-method'],
    ['a REQUEST_METHOD that is not a token', [['REQUEST_METHOD', 'GET /evil']], 'bad-method'],
    ['a REQUEST_METHOD with a tab', [['REQUEST_METHOD', 'GET\t']], 'bad-method'],
    [
      'HTTP_ alone',
      [
        ['REQUEST_METHOD', 'GET'],
        ['HTTP_', 'x'],
      ],
      'bad-var',
    ],
    [
      'a header name that is not a token',
      [
        ['REQUEST_METHOD', 'GET'],
        ['HTTP_X:Y', 'x'],
      ],
      'bad-var',
    ],
    [
      'a header name with a space',
      [
        ['REQUEST_METHOD', 'GET'],
        ['HTTP_X Y', 'x'],
      ],
      'bad-var',
    ],
    [
      'a control character in a header value',
      [
        ['REQUEST_METHOD', 'GET'],
        ['HTTP_X', 'a\x01b'],
      ],
      'bad-var',
    ],
    [
      'DEL in a header value',
      [
        ['REQUEST_METHOD', 'GET'],
        ['HTTP_X', 'a\x7f'],
      ],
      'bad-var',
    ],
    [
      'a control character in CONTENT_TYPE',
      [
        ['REQUEST_METHOD', 'GET'],
        ['CONTENT_TYPE', 'text/\x1b'],
      ],
      'bad-var',
    ],
    [
      'a control character in SERVER_NAME',
      [
        ['REQUEST_METHOD', 'GET'],
        ['SERVER_NAME', 'a\x0bb'],
      ],
      'bad-var',
    ],
    [
      'two different REQUEST_URIs',
      [
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_URI', '/a'],
        ['REQUEST_URI', '/b'],
      ],
      'bad-var',
    ],
    [
      'two different REQUEST_METHODs',
      [
        ['REQUEST_METHOD', 'GET'],
        ['REQUEST_METHOD', 'POST'],
      ],
      'bad-var',
    ],
  ]
  it.each(requestRefusals)('refuses %s', (_, vars, reason) => {
    expect(refusalOf(vars)).toMatchObject({ reason })
  })

  it('a tab and bytes above 0x7f are allowed in header values (obs-text)', () => {
    expect(
      headOf([
        ['REQUEST_METHOD', 'GET'],
        ['HTTP_X', 'a\tb caf\xe9'],
      ]),
    ).toBe('GET / HTTP/1.1\r\nX: a\tb caf\xe9\r\n\r\n')
  })
})

/** Sends `parts` one write at a time (each a macrotask apart, so they arrive as separate reads), reads to close. */
const exchange = async (port: number, parts: Buffer[], options: { end?: boolean } = {}): Promise<Buffer> => {
  const socket = net.connect(port, '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  socket.setNoDelay(true)
  socket.on('error', () => {})
  const received: Buffer[] = []
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  // Not events.once: it would reject on the 'error' of a connection the server cut.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await once(socket, 'connect')
  for (const part of parts) {
    if (!socket.write(part)) await once(socket, 'drain')
    if (parts.length > 1) await new Promise((resolve) => setTimeout(resolve, 1))
  }
  if (options.end) socket.end()
  await closed
  return Buffer.concat(received)
}

interface Seen {
  method: string | undefined
  url: string | undefined
  httpVersion: string
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
}

/** A uwsgi server whose app records what it saw and answers "ok". */
const recordingServer = async (options: Parameters<typeof uwsgiTestServer>[1] = {}) => {
  const seen: Seen[] = []
  const server = await uwsgiTestServer(async (req, res) => {
    const chunks: Buffer[] = []
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer)
    } catch {
      return // The client went away mid-body: not a request the app saw whole.
    }
    seen.push({
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks),
    })
    res.setHeader('Content-Type', 'text/plain')
    res.end('ok')
  }, options)
  return { ...server, seen }
}

/** Every byte on its own. */
const bytewise = (bytes: Buffer): Buffer[] => [...bytes].map((b) => Buffer.from([b]))

describe('a connection read with readUwsgiRequest and served by node:http', () => {
  it('the app sees the request nginx received; the answer is raw HTTP/1.1', async () => {
    const server = await recordingServer()
    const vars = nginxVars({ method: 'GET', uri: '/search?q=caf%C3%A9&page=2' }, [
      ['HTTP_HOST', 'shop.example'],
      ['HTTP_ACCEPT', 'text/html'],
      ['HTTP_COOKIE', 'sid=1'],
      ['HTTP_COOKIE', 'theme=dark'],
      ['HTTP_X_FORWARDED_FOR', '198.51.100.1'],
      ['HTTP_X_FORWARDED_FOR', '203.0.113.7'],
      ['HTTP_CONNECTION', 'close'],
    ])
    const response = (await exchange(server.port, [uwsgiPacket(vars)])).toString('latin1')
    expect(response).toMatch(
      /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nDate: [^\r]+ GMT\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok$/,
    )
    expect(server.seen).toEqual([
      {
        method: 'GET',
        url: '/search?q=caf%C3%A9&page=2',
        httpVersion: '1.1',
        headers: {
          host: 'shop.example',
          accept: 'text/html',
          cookie: 'sid=1; theme=dark',
          'x-forwarded-for': '198.51.100.1, 203.0.113.7',
          connection: 'close',
        },
        rawHeaders: [
          'Host',
          'shop.example',
          'Accept',
          'text/html',
          'Cookie',
          'sid=1; theme=dark',
          'X-Forwarded-For',
          '198.51.100.1, 203.0.113.7',
          'Connection',
          'close',
        ],
        body: Buffer.alloc(0),
      },
    ])
    const [result] = server.results
    expect(result).toMatchObject({
      kind: 'request',
      remoteAddress: '203.0.113.7',
      remotePort: 54321,
      https: false,
      contentLength: 0,
    })
  })

  it('an HTTP/1.0 request from SERVER_PROTOCOL is answered in HTTP/1.1 without keep-alive', async () => {
    const server = await recordingServer()
    const vars = nginxVars({ uri: '/old' }).map(([k, v]): [string, string] => [
      k,
      k === 'SERVER_PROTOCOL' ? 'HTTP/1.0' : v,
    ])
    const response = (await exchange(server.port, [uwsgiPacket(vars)])).toString('latin1')
    expect(server.seen[0]).toMatchObject({
      httpVersion: '1.0',
      url: '/old',
      headers: { host: 'shop.example' },
    })
    // No keep-alive and no chunking for an HTTP/1.0 client: the end of the body is the close.
    expect(response).toMatch(
      /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nDate: [^\r]+\r\nConnection: close\r\n\r\nok$/,
    )
  })

  it('a body in many small reads, the packet byte by byte', async () => {
    const server = await recordingServer()
    const body = Buffer.from(`${'x'.repeat(300)}\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`)
    const packet = uwsgiPacket(
      nginxVars({ method: 'POST', uri: '/upload', body: body.length, contentType: 'text/plain' }, [
        ['HTTP_CONNECTION', 'close'],
      ]),
    )
    const bodyParts: Buffer[] = []
    for (let i = 0; i < body.length; i += 7) bodyParts.push(body.subarray(i, i + 7))
    const response = await exchange(server.port, [...bytewise(packet), ...bodyParts])
    expect(response.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/)
    expect(server.seen).toHaveLength(1)
    expect(server.seen[0]).toMatchObject({
      method: 'POST',
      url: '/upload',
      headers: { 'content-type': 'text/plain' },
    })
    expect(server.seen[0]!.body.equals(body)).toBe(true)
  })

  it('the first read holds the packet and the start of the body', async () => {
    const server = await recordingServer()
    const body = Buffer.from('hello, uwsgi')
    const packet = uwsgiPacket(
      nginxVars({ method: 'PUT', uri: '/doc', body: body.length }, [['HTTP_CONNECTION', 'close']]),
    )
    await exchange(server.port, [Buffer.concat([packet, body.subarray(0, 5)]), body.subarray(5)])
    expect(server.seen[0]!.body.toString()).toBe('hello, uwsgi')
  })

  it('a 1 MiB body arrives whole', async () => {
    const server = await uwsgiTestServer(async (req, res) => {
      const hash = crypto.createHash('sha256')
      let length = 0
      for await (const chunk of req) {
        hash.update(chunk as Buffer)
        length += (chunk as Buffer).length
      }
      res.end(`${length} ${hash.digest('hex')}`)
    })
    const body = crypto.randomBytes(1 << 20)
    const packet = uwsgiPacket(
      nginxVars({ method: 'POST', uri: '/big', body: body.length }, [['HTTP_CONNECTION', 'close']]),
    )
    const parts = [Buffer.concat([packet, body.subarray(0, 1000)])]
    for (let i = 1000; i < body.length; i += 64 * 1024) parts.push(body.subarray(i, i + 64 * 1024))
    const response = (await exchange(server.port, parts)).toString('latin1')
    expect(
      response.endsWith(`\r\n\r\n${body.length} ${crypto.createHash('sha256').update(body).digest('hex')}`),
    ).toBe(true)
  })

  it('a body cut short never reaches the app whole, and its bytes are no second request', async () => {
    const server = await recordingServer()
    const packet = uwsgiPacket(nginxVars({ method: 'POST', uri: '/', body: 100 }))
    const smuggled = Buffer.from('GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')
    await exchange(server.port, [Buffer.concat([packet, smuggled])], { end: true })
    expect(await server.next()).toMatchObject({ kind: 'request', contentLength: 100 })
    expect(server.seen).toEqual([])
  })

  it('a WebSocket upgrade through uwsgi reaches node:http as an upgrade', async () => {
    const server = await uwsgiTestServer((_req, res) => res.end('not an upgrade'))
    const upgraded = new Promise<{ url: string | undefined; head: Buffer; upgrade: string | undefined }>(
      (resolve) =>
        server.http.once('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
          socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
          resolve({ url: req.url, head, upgrade: req.headers.upgrade })
        }),
    )
    const vars = nginxVars({ uri: '/ws' }, [
      ['HTTP_CONNECTION', 'Upgrade'],
      ['HTTP_UPGRADE', 'websocket'],
      ['HTTP_SEC_WEBSOCKET_KEY', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['HTTP_SEC_WEBSOCKET_VERSION', '13'],
    ])
    const response = await exchange(server.port, [
      Buffer.concat([uwsgiPacket(vars), Buffer.from([0x81, 0x00])]),
    ])
    expect(await upgraded).toEqual({ url: '/ws', head: Buffer.from([0x81, 0x00]), upgrade: 'websocket' })
    expect(response.toString('latin1')).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/)
  })

  it('refuses plain HTTP sent to the uwsgi socket, with a coded error that says so', async () => {
    const server = await recordingServer()
    const response = await exchange(server.port, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')])
    expect(response.length).toBe(0)
    const result = await server.next()
    expect(result).toBeInstanceOf(UwsgiPacketError)
    expect(result).toBeInstanceOf(TroupeError)
    expect(result).toMatchObject({
      code: 'TROUPE_E_UWSGI_PACKET',
      name: 'UwsgiPacketError',
      reason: 'http-on-uwsgi',
      message: expect.stringMatching(
        /^uwsgi: plain HTTP arrived on a uwsgi socket: this socket speaks the uwsgi protocol/,
      ),
    })
    expect(server.seen).toEqual([])
  })

  it('refuses a packet whose vars make no request (bad-content-length), before any body is read', async () => {
    const server = await recordingServer()
    await exchange(server.port, [
      uwsgiPacket(nginxVars({ method: 'POST', uri: '/' }, [['CONTENT_LENGTH', '-5']])),
    ])
    expect(await server.next()).toMatchObject({ reason: 'bad-content-length' })
  })

  it.each([
    ['in its header', 2],
    ['in its vars', 40],
  ])('a packet cut short %s is refused as truncated once the peer closes', async (_, cut) => {
    const server = await recordingServer()
    const packet = uwsgiPacket(nginxVars({ uri: '/' }))
    await exchange(server.port, [packet.subarray(0, cut)], { end: true })
    expect(await server.next()).toMatchObject({
      reason: 'truncated',
      message: expect.stringMatching(
        new RegExp(`after ${cut} byte\\(s\\), before the uwsgi packet was complete`),
      ),
    })
  })

  it('a peer that stalls mid-packet is refused when the timeout passes', async () => {
    const server = await recordingServer({ timeoutMs: 1_000 })
    const packet = uwsgiPacket(nginxVars({ uri: '/' }))
    const socket = net.connect(server.port, '127.0.0.1')
    onTestFinished(() => {
      socket.destroy()
    })
    socket.on('error', () => {})
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.write(packet.subarray(0, 10))
    expect(await server.next()).toMatchObject({
      reason: 'timeout',
      message: expect.stringMatching(/within 1000 ms \(10 byte\(s\) so far\)/),
    })
    // The refusal is the caller's to act on: this one closes the connection.
    await closed
  })
})

describe('the answer, as nginx reads it (uwsgiResponse)', () => {
  const keepAlive = (uri: string) => uwsgiPacket(nginxVars({ uri }, [['HTTP_CONNECTION', 'keep-alive']]))
  const app = async () =>
    uwsgiTestServer((req, res) => {
      uwsgiResponse(res)
      if (req.url === '/stream') {
        res.write('first,')
        setImmediate(() => res.end('second'))
      } else res.end('hello')
    })

  it('a body of unknown length is not chunked (nginx would pass the chunk sizes on as body) and ends with the close', async () => {
    const server = await app()
    // The client asked for keep-alive; the server still closes: exchange resolves on the close.
    const response = (await exchange(server.port, [keepAlive('/stream')])).toString('latin1')
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\nDate: [^\r]+\r\nConnection: close\r\n\r\nfirst,second$/)
  })

  it('a body of known length keeps its Content-Length', async () => {
    const server = await app()
    const response = (await exchange(server.port, [keepAlive('/')])).toString('latin1')
    expect(response).toMatch(
      /^HTTP\/1\.1 200 OK\r\nDate: [^\r]+\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello$/,
    )
  })
})

describe('readUwsgiRequest on a socket', () => {
  /** A server-side socket of a fresh connection to a bare listener, and the client's end. */
  const socketPair = async (): Promise<{ server: net.Socket; client: net.Socket }> => {
    const listener = net.createServer()
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const accepted = once(listener, 'connection')
    const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1')
    client.on('error', () => {})
    const [server] = (await accepted) as [net.Socket]
    onTestFinished(() => {
      client.destroy()
      server.destroy()
      listener.close()
    })
    return { server, client }
  }
  const listeners = (socket: net.Socket) =>
    Object.fromEntries(
      ['data', 'end', 'close', 'error', 'readable'].map((event) => [event, socket.listenerCount(event)]),
    )

  it('answers once, leaves no listener behind, and leaves the socket paused with the head in front', async () => {
    const { server, client } = await socketPair()
    const before = listeners(server)
    const calls: Array<UwsgiRequest | Error> = []
    const answered = new Promise<void>((resolve) =>
      readUwsgiRequest(server, limits, 10_000, (result) => {
        calls.push(result)
        expect(listeners(server)).toEqual(before)
        resolve()
      }),
    )
    client.write(
      Buffer.concat([
        uwsgiPacket([
          ['REQUEST_METHOD', 'POST'],
          ['REQUEST_URI', '/p'],
          ['CONTENT_LENGTH', '3'],
        ]),
        Buffer.from('abc'),
      ]),
    )
    await answered
    expect(server.isPaused()).toBe(true)
    expect(server.read()?.toString('latin1')).toBe('POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')
    server.resume()
    client.end()
    await once(server, 'end')
    expect(calls).toHaveLength(1)
  })

  it('a refusal leaves no listener behind, does not destroy the socket, and is not answered again on close', async () => {
    const { server, client } = await socketPair()
    const before = listeners(server)
    const calls: Array<UwsgiRequest | Error> = []
    const answered = new Promise<void>((resolve) =>
      readUwsgiRequest(server, limits, 10_000, (result) => {
        calls.push(result)
        resolve()
      }),
    )
    client.write(Buffer.from([9, 0, 0, 0]))
    await answered
    expect(calls[0]).toMatchObject({ reason: 'modifier1' })
    expect(listeners(server)).toEqual(before)
    expect(server.destroyed).toBe(false)
    client.destroy()
    server.destroy()
    await once(server, 'close')
    expect(calls).toHaveLength(1)
  })

  it('a socket that already ended is answered as truncated', async () => {
    const { server, client } = await socketPair()
    client.end()
    server.resume()
    await once(server, 'end')
    const result = await new Promise<UwsgiRequest | Error>((resolve) =>
      readUwsgiRequest(server, limits, 10_000, resolve),
    )
    expect(result).toMatchObject({ reason: 'truncated' })
  })

  it('a connection reset mid-packet is answered as truncated, the error its cause', async () => {
    const { server, client } = await socketPair()
    const result = new Promise<UwsgiRequest | Error>((resolve) =>
      readUwsgiRequest(server, limits, 10_000, resolve),
    )
    client.write(Buffer.from([0, 50, 0]))
    await new Promise((resolve) => setTimeout(resolve, 20))
    client.resetAndDestroy()
    expect(await result).toMatchObject({ reason: 'truncated' })
  })
})
