/**
 * The page's actions: each one a call of the control API, answered as JSON. The page asks for
 * a confirmation first; here each request is checked to come from the page itself.
 */
import type { IncomingMessage } from 'node:http'
import type { ControlApi } from '../../control/api.ts'
import type { ActionAnswer } from './feed-types.ts'

/** Larger bodies are refused: every action's body is a few bytes of JSON. */
const MAX_BODY_BYTES = 4_096

export const ACTIONS = ['reload', 'scale', 'kill', 'restart'] as const
export type ActionName = (typeof ACTIONS)[number]

export interface Answer {
  readonly status: number
  readonly answer: ActionAnswer
}

const refused = (status: number, code: string, message: string): Answer => ({
  status,
  answer: { ok: false, code, message },
})

/**
 * Why a request may not act, or null. A browser lets any site POST a form to any address,
 * credentials included, but not with a custom header (that needs a preflight, which this
 * listener never grants), and it names the site in `Origin`.
 */
export const forgeryCheck = (req: IncomingMessage): string | null => {
  if (req.headers['x-troupe-action'] !== '1') return 'an action needs the header x-troupe-action: 1'
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
    return 'an action takes a JSON body (content-type: application/json)'
  const origin = req.headers.origin
  if (origin !== undefined && origin !== `http://${req.headers.host}`)
    return `an action from another site (${origin}) is refused`
  return null
}

const readBody = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new RangeError(`the body is over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  return text.trim() === '' ? {} : JSON.parse(text)
}

const field = (body: unknown, name: string): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined

const call = (control: ControlApi, action: ActionName, body: unknown): Promise<unknown> => {
  switch (action) {
    case 'reload':
      return control.reload()
    case 'scale':
      return control.scale(String(field(body, 'workers') ?? '') as `+${number}`)
    case 'kill':
      return control.kill(String(field(body, 'worker') ?? ''))
    case 'restart':
      return control.restart(String(field(body, 'actor') ?? ''))
  }
}

/** Runs `action` for the request; what to answer, success or not. */
export const runAction = async (
  control: ControlApi,
  action: ActionName,
  req: IncomingMessage,
): Promise<Answer> => {
  let body: unknown
  try {
    body = await readBody(req)
  } catch (error) {
    return refused(400, 'TROUPE_E_INVALID_OPTION', `${action}: ${(error as Error).message}`)
  }
  try {
    return { status: 200, answer: { ok: true, outcome: await call(control, action, body) } }
  } catch (error) {
    const given = (error as { code?: unknown }).code
    // Every refusal of the control API carries a troupe code; anything else is named by its class.
    const code = typeof given === 'string' ? given : (error as Error).name
    // A request that asked for what cannot be (a worker that is not there) is the asker's
    // to fix; anything else is the master's state refusing it now.
    return refused(code === 'TROUPE_E_INVALID_OPTION' ? 400 : 409, code, (error as Error).message)
  }
}
