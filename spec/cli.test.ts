import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const cli = fileURLToPath(new URL('../runtime/cli.ts', import.meta.url))
const manifest = readFileSync(new URL('../package.json', import.meta.url), 'utf8')
const { version } = JSON.parse(manifest) as { version: string }

// From source, with the project's node: inside vitest, process.execPath is the Node 26 devDependency.
const troupe = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' })

describe('troupe cli', () => {
  it('--version prints the package.json version', () => {
    const run = troupe('--version')
    expect(run.status).toBe(0)
    expect(run.stdout).toBe(`${version}\n`)
    expect(run.stderr).toBe('')
  })

  it('--help prints the usage with the planned commands', () => {
    const run = troupe('--help')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^Usage: troupe/)
    for (const command of ['serve', 'check', 'tree']) expect(run.stdout).toContain(command)
    expect(run.stderr).toBe('')
  })

  it('an unknown flag exits 2 with one line on stderr and no stack trace', () => {
    const run = troupe('--frobnicate')
    expect(run.status).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('--frobnicate')
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  it('the planned commands say they are not available yet and exit 2', () => {
    const run = troupe('serve')
    expect(run.status).toBe(2)
    expect(run.stderr).toBe('troupe: "serve" is not available in this version\n')
  })
})
