/**
 * The module a thread or process imported for the actor it hosts. A module that defines an
 * actor and also spawns it (the definition and `createSystem` in one file) would make every
 * thread or process that hosts the actor import it, spawn again, and so on without end —
 * whether the module spawns while it is imported or later (after an await, from a timer).
 * createSystem asks `spawningFromHostedModule` to refuse instead. Kept on globalThis by
 * `Symbol.for` so that the user's copy of troupe (the built bundle, say) sees the host's mark.
 */
const HOSTED = Symbol.for('troupe.hosted-actor-module')
const globals = globalThis as Record<symbol, unknown>

/** Imports an actor's module, and marks this thread or process as its host for good. */
export const importActorModule = async (module: string): Promise<void> => {
  globals[HOSTED] = module
  await import(module)
}

/**
 * The hosted actor's module when the code running now comes from it (its frames are on the
 * stack), else undefined. Only a host has such a module; the main thread never does.
 */
export const spawningFromHostedModule = (): string | undefined => {
  const hosted = globals[HOSTED] as string | undefined
  if (hosted === undefined) return undefined
  const file = hosted.replace(/[?#].*$/, '')
  const limit = Error.stackTraceLimit
  // The user's module may be many frames below createSystem (a helper, a framework).
  Error.stackTraceLimit = 50
  const stack = new Error().stack ?? ''
  Error.stackTraceLimit = limit
  return stack.includes(`${file}:`) ? hosted : undefined
}
