/**
 * The one catalogue of troupe's warnings: things an operator should know that do not stop
 * anything. Like the error catalogue, every warning has a stable code (never reused), a
 * one-line description, and a row in README.md; spec/warnings.test.ts keeps them in step.
 * Warnings are written through the server's log (a line with the code), not through
 * `process.emitWarning`, which `NODE_NO_WARNINGS` silences.
 */

export interface WarningEntry {
  readonly code: string
  readonly description: string
}

const entries = {
  TROUPE_W_KIND_RENAMED:
    'kind "threads" is the old name of "thread-pool"; it is accepted and read as thread-pool',
  TROUPE_W_MIGRATE_REQ:
    'reuseport with net.ipv4.tcp_migrate_req = 0: connections queued on a listener that closes (reload, recycle, scale down) are reset',
  TROUPE_W_ACCEPT_ERROR:
    'the acceptor could not accept a connection (often EMFILE: out of file descriptors); it keeps listening',
  TROUPE_W_LISTENER_ERROR: "a worker's own reuseport listener reported an error",
  TROUPE_W_OPTION_NOT_APPLICABLE:
    'an option was set that has no effect with the chosen placement, kind or strategy (memorySoft with thread workers, threads with kind coroutine…)',
  TROUPE_W_SIGNAL_IGNORED:
    'the master ignored a signal it gives no meaning to at that moment: a USR2 during an upgrade, or while it is starting or stopping',
  TROUPE_W_ACCESS_LOG:
    'a worker could not write or reopen its access log (disk full, directory gone, the reader of stdout gone); those lines are dropped and it keeps serving. Said once per failing stretch, and again with the count lost once writing works',
  TROUPE_W_UPGRADE_FAILED:
    'a USR2 upgrade failed (the new master exited, or did not serve within upgradeTimeout): the old master keeps serving; a USR2 may try again',
  TROUPE_W_TELL_FAILED:
    'an actor-to-actor tell could not be delivered (target gone, mailbox full or message uncloneable)',
  TROUPE_W_APP_NEEDS_NODE_HTTP:
    "the app's handler gives requests node:http's prototype (Express does), which node:http2's objects cannot take: its workers speak HTTP/1.1 only (no h2 offered on https:// binds, no h2c)",
  TROUPE_W_ADMIN_ERROR:
    'the admin listener (--admin) could not accept a connection (often EMFILE); it keeps listening and the server keeps serving',
} as const satisfies Record<string, string>

export type WarningCode = keyof typeof entries

/** Every warning code troupe defines, for docs and tooling. */
export const warningCatalogue: readonly WarningEntry[] = Object.entries(entries).map(
  ([code, description]) => ({
    code,
    description,
  }),
)

/** One log line for a warning: the detail (or the catalogue's description) and its code. */
export const warningLine = (code: WarningCode, detail: string = entries[code]): string =>
  `warning: ${detail} [${code}]`
