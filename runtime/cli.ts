#!/usr/bin/env node
/**
 * The `troupe` command. Today it only answers --help and --version; serve, check and tree
 * are named so that scripts and muscle memory can start from the right words, and they fail
 * plainly until the serving work lands.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const usage = `Usage: troupe <command> [options]

Commands (planned: they arrive with the serving work and are not available in this version):
  serve    start the master, its acceptor and workers from troupe.config.ts
  check    load and validate the config and the app, then exit
  tree     print the supervision tree of a running troupe

Options:
  -h, --help       print this help and exit
  -v, --version    print the version and exit
`

const options = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

const plannedCommands: ReadonlySet<string> = new Set(['serve', 'check', 'tree'])

// Both runtime/cli.ts and dist/cli.js sit one directory below the package root.
const readVersion = (): string => {
  const manifest = readFileSync(new URL('../package.json', import.meta.url), 'utf8')
  return (JSON.parse(manifest) as { version: string }).version
}

/** A mistake on the command line: one line on stderr, exit code 2. */
const usageError = (message: string): number => {
  process.stderr.write(`troupe: ${message} (see troupe --help)\n`)
  return 2
}

const main = (args: readonly string[]): number => {
  // Non-strict parsing with tokens, checked here: strict parseArgs reports an unknown option in
  // a paragraph, and a usage error should be one line naming the culprit.
  const { values, positionals, tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    if (!Object.hasOwn(options, token.name)) return usageError(`unknown option "${token.rawName}"`)
    if (token.value !== undefined) return usageError(`option "${token.rawName}" takes no value`)
  }

  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (values.version) {
    process.stdout.write(`${readVersion()}\n`)
    return 0
  }
  const [command] = positionals
  if (command === undefined) {
    process.stderr.write(usage)
    return 2
  }
  if (plannedCommands.has(command)) {
    process.stderr.write(`troupe: "${command}" is not available in this version\n`)
    return 2
  }
  return usageError(`unknown command "${command}"`)
}

// exitCode rather than exit(): piped stdout gets to flush before the process ends.
process.exitCode = main(process.argv.slice(2))
