/**
 * uwsgi packets as nginx's uwsgi_pass builds them, for tests and the chaos suite (which runs
 * outside vitest, so this module imports nothing of it).
 */

export type Vars = ReadonlyArray<readonly [string, string]>

/** One var's bytes: u16 LE key length, key, u16 LE value length, value (latin1). */
export const encodeVar = (key: string, value: string): Buffer => {
  const k = Buffer.from(key, 'latin1')
  const v = Buffer.from(value, 'latin1')
  const out = Buffer.alloc(4 + k.length + v.length)
  out.writeUInt16LE(k.length, 0)
  k.copy(out, 2)
  out.writeUInt16LE(v.length, 2 + k.length)
  v.copy(out, 4 + k.length)
  return out
}

/** A vars block with its 4-byte header; `datasize` overrides the true size. */
export const packetOf = (
  block: Buffer,
  options: { modifier1?: number; modifier2?: number; datasize?: number } = {},
): Buffer => {
  const header = Buffer.alloc(4)
  header[0] = options.modifier1 ?? 0
  header.writeUInt16LE(options.datasize ?? block.length, 1)
  header[3] = options.modifier2 ?? 0
  return Buffer.concat([header, block])
}

/** A whole uwsgi packet carrying `vars`. */
export const uwsgiPacket = (vars: Vars, options: { modifier1?: number; modifier2?: number } = {}): Buffer =>
  packetOf(Buffer.concat(vars.map(([k, v]) => encodeVar(k, v))), options)

/** The vars nginx's stock uwsgi_params sends for a request, with the client's headers after. */
export const nginxVars = (
  request: { method?: string; uri?: string; body?: number; contentType?: string },
  headers: Vars = [],
): Array<[string, string]> => {
  const uri = request.uri ?? '/'
  const [path, query = ''] = uri.split('?') as [string, string?]
  return [
    ['QUERY_STRING', query],
    ['REQUEST_METHOD', request.method ?? 'GET'],
    ['CONTENT_TYPE', request.contentType ?? ''],
    ['CONTENT_LENGTH', request.body === undefined ? '' : String(request.body)],
    ['REQUEST_URI', uri],
    ['PATH_INFO', decodeURIComponent(path)],
    ['DOCUMENT_ROOT', '/usr/share/nginx/html'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_SCHEME', 'http'],
    ['REMOTE_ADDR', '203.0.113.7'],
    ['REMOTE_PORT', '54321'],
    ['SERVER_PORT', '80'],
    ['SERVER_NAME', 'shop.example'],
    ...headers.map(([k, v]) => [k, v] as [string, string]),
  ]
}
