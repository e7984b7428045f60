#!/usr/bin/env node
/**
 * The `troupe` command's entry. Its one static import turns on the compile cache and starts the
 * first worker thread booting (early-start.ts); the CLI itself (cli-main.ts) loads after that,
 * by a dynamic import. A static one would not do: in the build, esbuild inlines a module that
 * one entry imports into that entry, after every import it hoists, so the early thread started
 * only once all of the CLI's chunks had loaded, and they loaded without the compile cache.
 */
import './early-start.ts'

await import('./cli-main.ts')
