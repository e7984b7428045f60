/**
 * A Dockerfile read the way the tests need it: its instructions by stage, line continuations
 * joined, comments and parser directives dropped, exec-form (JSON array) arguments parsed. The
 * image cannot be built here; this is how the tests hold deploy/Dockerfile to what the
 * deployment expects of it.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const dockerfilePath = fileURLToPath(new URL('../../deploy/Dockerfile', import.meta.url))

export interface Instruction {
  /** Upper-cased: `FROM`, `RUN`, `ENTRYPOINT`, … */
  readonly name: string
  /** Everything after the name, continuations joined. */
  readonly text: string
  /** The exec form's array (`["a", "b"]`), when the arguments are one. */
  readonly exec?: readonly string[]
  /** 1-based line where the instruction starts. */
  readonly line: number
}

export interface Stage {
  readonly from: string
  readonly name?: string
  readonly instructions: readonly Instruction[]
}

const execForm = (text: string): readonly string[] | undefined => {
  if (!text.startsWith('[')) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined
  } catch {
    return undefined
  }
}

/** The stages of a Dockerfile's text, in order (the last one is the image). */
export const parseDockerfile = (source: string): Stage[] => {
  const stages: Array<{ from: string; name?: string; instructions: Instruction[] }> = []
  const lines = source.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let text = lines[i]!.trim()
    if (text === '' || text.startsWith('#')) continue
    while (text.endsWith('\\') && i + 1 < lines.length) {
      text = text.slice(0, -1).trimEnd()
      // Comment lines inside a continued instruction are dropped, as Docker does.
      let next = lines[++i]!.trim()
      while (next.startsWith('#') && i + 1 < lines.length) next = lines[++i]!.trim()
      text = `${text} ${next}`
    }
    const match = /^(\S+)\s*(.*)$/.exec(text)!
    const name = match[1]!.toUpperCase()
    const rest = match[2]!.trim()
    const exec = execForm(rest)
    const instruction: Instruction = { name, text: rest, line: start + 1, ...(exec ? { exec } : {}) }
    if (name === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)
      stages.push({ from: from?.[1] ?? rest, ...(from?.[2] ? { name: from[2] } : {}), instructions: [] })
      continue
    }
    // ARG before the first FROM parameterises the FROM lines; it belongs to no stage.
    stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

export const readDockerfile = (): Stage[] => parseDockerfile(readFileSync(dockerfilePath, 'utf8'))

/** The last instruction `name` of the stage (the one in force: a later CMD replaces an earlier one). */
export const lastOf = (stage: Stage, name: string): Instruction | undefined =>
  stage.instructions.findLast((instruction) => instruction.name === name)

/** Every instruction `name` of the stage, in order. */
export const allOf = (stage: Stage, name: string): Instruction[] =>
  stage.instructions.filter((instruction) => instruction.name === name)

/** The image's stage: the last one. */
export const imageStage = (stages: readonly Stage[]): Stage => {
  const stage = stages.at(-1)
  if (!stage) throw new Error('the Dockerfile has no FROM')
  return stage
}
