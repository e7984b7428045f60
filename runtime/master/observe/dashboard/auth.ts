/**
 * Who may read the admin listener: with `--admin-token`, a request that carries the token,
 * either as `Authorization: Bearer TOKEN` (scrapers, scripts) or as HTTP Basic with any user
 * name and the token as password (a browser: it asks once, then sends it with every request of
 * the page, the event stream and the actions included, which a Bearer header cannot do).
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/** What the Authorization header carries as the token, by either scheme; '' if nothing. */
const presented = (header: string | undefined): string => {
  const match = /^(Bearer|Basic)[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')
  if (!match) return ''
  if (match[1]!.toLowerCase() === 'bearer') return match[2]!
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? '' : decoded.slice(colon + 1)
}

/** Compares in constant time: both sides are hashed first, so their lengths leak nothing either. */
export const carriesToken = (header: string | undefined, token: string): boolean => {
  const given = presented(header)
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0
}

/**
 * The challenge of a 401: Basic where a browser asks (it then prompts for the token as a
 * password), Bearer elsewhere.
 */
export const challengeFor = (browser: boolean): string =>
  browser ? 'Basic realm="troupe admin", charset="UTF-8"' : 'Bearer'
