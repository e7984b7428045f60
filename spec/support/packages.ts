/**
 * Debian packages a test or bench needs, installed when missing and this is root (as .ci/run
 * does); free of any test runner, so the bench scripts use it too.
 */
import { spawnSync } from 'node:child_process'

const isRoot = () => process.getuid?.() === 0

/**
 * Installs the Debian packages `names` when this is root and a binary is missing; returns why
 * the tests that need them cannot run here, or null when they can.
 */
export const ensurePackages = (names: readonly string[], present: () => boolean): string | null => {
  if (present()) return null
  const list = names.join(' ')
  if (!isRoot())
    return `${list} not installed and this is not root: apt-get install -y ${list} (.ci/run installs it as root)`
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', ...names], { env, encoding: 'utf8', timeout: 300_000 })
  // A fresh machine's package lists may be empty: update once, then try again.
  if (install().status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, timeout: 300_000 })
    const again = install()
    if (again.status !== 0) return `apt-get install -y ${list} failed: ${again.stderr.slice(-500)}`
  }
  return present() ? null : `${list} installed but still not found`
}
