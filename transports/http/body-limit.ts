/** The request body limit's error, shared by every way a body is read (stream, buffer, thread pool). */

/** Brand of troupe's own body-limit error: `Symbol.for`, so copies of the package agree on it. */
const TOO_LARGE = Symbol.for('troupe.bodyTooLarge')

/** The request body ran past `maxBodySize`; the server answers 413 when a handler lets it through. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError'
  /** For frameworks that map an error's `status` to a response; troupe itself goes by the brand. */
  readonly status = 413
  readonly [TOO_LARGE] = true
}

/**
 * True only for troupe's body-limit error (by its brand): an app error that merely carries
 * `status: 413` is the app's failure, answered 500 like any other.
 */
export const isBodyTooLarge = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[TOO_LARGE] === true
