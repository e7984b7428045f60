/**
 * A worker's own log lines go to stderr, as the master's do: in a thread it is forwarded to
 * the master's stderr, in a process it is inherited. Not `process.emitWarning`, which
 * NODE_NO_WARNINGS silences and which has no room for the request.
 */
export const say = (line: string): void => {
  process.stderr.write(`troupe: ${line}\n`)
}
