/**
 * Whether this thread or process is importing the module of the actor it hosts. A module that
 * defines an actor and also spawns it when imported (the definition and `createSystem` in one
 * file) would make every thread or process that hosts the actor import it, spawn again, and
 * so on without end; createSystem asks this to refuse instead. Kept on globalThis by
 * `Symbol.for` so that the user's copy of troupe (the built bundle, say) sees the host's flag.
 */
const LOADING = Symbol.for('troupe.loading-actor-module')
const globals = globalThis as Record<symbol, unknown>

/** The module being imported for an actor's definition, if that is what is happening now. */
export const actorModuleLoading = (): string | undefined => globals[LOADING] as string | undefined

/** Imports an actor's module with the flag set while it loads. */
export const importActorModule = async (module: string): Promise<void> => {
  globals[LOADING] = module
  try {
    await import(module)
  } finally {
    delete globals[LOADING]
  }
}
