/**
 * A request header by (lower-case) name from the raw list. node:http builds `req.headers`
 * only when it is read, and a worker reading one header per request should not pay for all.
 */
export const rawHeader = (raw: readonly string[], name: string): string | undefined => {
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1]
  return undefined
}
