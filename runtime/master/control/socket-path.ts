/**
 * Where control sockets live and how one is claimed safely. Each master has its own socket,
 * named for the instance (`--name`, else its pid) in a directory only its user can enter:
 * `$XDG_RUNTIME_DIR/troupe/` (systemd's per-user runtime directory), else `troupe-UID/` in
 * the temp dir. `troupe ls` lists that directory; `--control PATH` puts a socket elsewhere.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { ControlSocketError } from '../../errors.ts'

const uid = (): number => process.getuid?.() ?? 0

/** The directory instances' sockets are found in. */
export const controlDirectory = (env: NodeJS.ProcessEnv = process.env): string => {
  const runtime = env.XDG_RUNTIME_DIR
  if (runtime && existsSync(runtime)) return join(runtime, 'troupe')
  return join(tmpdir(), `troupe-${uid()}`)
}

/** A master's default socket: `NAME.sock`, or `PID.sock` for an unnamed one. */
export const defaultControlPath = (name: string | null, pid = process.pid): string =>
  join(controlDirectory(), `${name ?? pid}.sock`)

/** The path `config.control` asks for; null when the control socket is disabled. */
export const controlPathFor = (control: string | null, name: string | null): string | null => {
  if (control === 'none') return null
  return control === null ? defaultControlPath(name) : resolve(control)
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`

/**
 * The directory a socket goes in must not let another user replace or pre-create the socket:
 * ours and writable by us alone, or (an explicit path in /tmp) sticky, where others cannot
 * remove or rename what we create. The default directory is made 0700 if missing.
 */
export const checkDirectory = (path: string, isDefault: boolean): void => {
  const dir = dirname(path)
  if (isDefault && !existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 })
  let stat: ReturnType<typeof lstatSync>
  try {
    stat = lstatSync(dir)
  } catch (error) {
    throw new ControlSocketError(
      `control: the directory of ${path} cannot be used (${(error as NodeJS.ErrnoException).code})`,
    )
  }
  if (!stat.isDirectory())
    throw new ControlSocketError(`control: ${dir} is not a directory (a symbolic link is refused too)`)
  const othersWrite = (stat.mode & 0o022) !== 0
  const sticky = (stat.mode & 0o1000) !== 0
  if (isDefault && (stat.uid !== uid() || (stat.mode & 0o077) !== 0))
    throw new ControlSocketError(
      `control: ${dir} must belong to uid ${uid()} with mode 0700 (it is uid ${stat.uid}, mode ${octal(stat.mode)}); remove it or choose --control PATH`,
    )
  if (!isDefault && othersWrite && !sticky)
    throw new ControlSocketError(
      `control: ${dir} is writable by other users (mode ${octal(stat.mode)}): another user could replace the socket; choose a directory of your own`,
    )
}

/** What is at `path` now: nothing, a socket, or something else that must not be removed. */
export const existing = (path: string): 'none' | 'socket' | 'other' => {
  try {
    return lstatSync(path).isSocket() ? 'socket' : 'other'
  } catch {
    return 'none'
  }
}

/** The sockets in the control directory, each a candidate instance. */
export const socketsInDirectory = (dir = controlDirectory()): string[] => {
  try {
    return readdirSync(dir)
      .filter((entry) => entry.endsWith('.sock'))
      .map((entry) => join(dir, entry))
      .filter((path) => existing(path) === 'socket')
      .sort()
  } catch {
    return []
  }
}
