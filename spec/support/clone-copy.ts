/**
 * A copy of this repository as a fresh clone of it has the files: what git tracks plus what it
 * would track (untracked and not ignored), without builds, installs or local state; the
 * checkout's node_modules is symlinked in, as `npm ci` would have installed the tools.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { repoRoot } from './readme.ts'

// What .gitignore leaves out, for a checkout that is not a git repository (CI runs the suite
// from such a copy): builds, installs, logs and local state.
const ignoredDirs = new Set(['.git', 'node_modules', 'dist', 'coverage', '.troupe', '.readme-blocks'])
const ignoredFile = (name: string) => name.endsWith('.log') || name.endsWith('.tgz')

const walk = (dir: string): string[] =>
  fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name)
    if (entry.isDirectory()) return ignoredDirs.has(entry.name) ? [] : walk(relative)
    return ignoredFile(entry.name) ? [] : [relative]
  })

/** The files a clone has: git's list where this is a repository, else the tree minus what .gitignore names. */
const cloneFiles = (): string[] => {
  try {
    return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).split('\0')
  } catch {
    return walk('')
  }
}

/** Copies the repository's clone files into `dest` (created) and links node_modules there; returns `dest`. */
export const copyAsClone = (dest: string): string => {
  fs.mkdirSync(dest, { recursive: true })
  for (const relative of cloneFiles()) {
    // A worktree's node_modules is a symlink, which `node_modules/` in .gitignore does not match.
    if (relative === '' || relative === 'node_modules') continue
    const from = path.join(repoRoot, relative)
    const to = path.join(dest, relative)
    let stat: fs.Stats
    try {
      stat = fs.lstatSync(from)
    } catch {
      // Tracked but deleted in the working tree: a clone of it as it is has no such file.
      continue
    }
    if (stat.isDirectory()) continue // a submodule; this repository has none to copy
    fs.mkdirSync(path.dirname(to), { recursive: true })
    if (stat.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to)
    else fs.copyFileSync(from, to)
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dest, 'node_modules'))
  return dest
}
