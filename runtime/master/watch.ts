/**
 * `--reload`: watches the app's directory and reports changed files, debounced, so one save (or
 * a checkout touching many files) gives one reload. node_modules and dotfiles (.git, editors'
 * swap files) are ignored. On Linux, fs.watch's recursive mode would also walk node_modules, so
 * the tree is watched directory by directory, skipping the ignored ones.
 */
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs'
import { join, relative, sep } from 'node:path'

const ignored = (name: string): boolean =>
  name.split(/[\\/]/).some((part) => part === 'node_modules' || part.startsWith('.'))

export interface Watch {
  close(): void
}

/** Calls `onChange` with the changed paths (relative to `root`) once changes have settled for `debounceMs`. */
const watchTree = (root: string, onChange: (files: readonly string[]) => void, debounceMs = 150): Watch => {
  const changed = new Set<string>()
  const watchers = new Map<string, FSWatcher>()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const touched = (file: string) => {
    if (closed || ignored(file)) return
    changed.add(file)
    clearTimeout(timer)
    timer = setTimeout(() => {
      const files = [...changed].sort()
      changed.clear()
      onChange(files)
    }, debounceMs)
  }

  const add = (dir: string, recursive: boolean) => {
    if (closed || watchers.has(dir)) return
    let watcher: FSWatcher
    try {
      watcher = watch(dir, { recursive })
    } catch {
      return // removed meanwhile, or unreadable: nothing to watch
    }
    watcher.on('error', () => {
      watcher.close()
      watchers.delete(dir)
    })
    watcher.on('change', (_event, name) => {
      if (!name) return
      const file = relative(root, join(dir, String(name)))
      if (ignored(file)) return
      touched(file)
      // A new directory on Linux needs its own watcher.
      if (!recursive) {
        try {
          if (statSync(join(root, file)).isDirectory()) walk(join(root, file))
        } catch {}
      }
    })
    watchers.set(dir, watcher)
  }

  const walk = (dir: string) => {
    add(dir, false)
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries)
      if (entry.isDirectory() && !ignored(entry.name)) walk(`${dir}${sep}${entry.name}`)
  }

  if (process.platform === 'linux') walk(root)
  else add(root, true)
  return {
    close() {
      closed = true
      clearTimeout(timer)
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    },
  }
}

/**
 * Calls `reload` once changes under `root` settle, logging what changed. A change during a
 * reload gets a reload of its own after it: the running one may have read the files before.
 */
export const reloadOnChange = (
  root: string,
  reload: () => Promise<void>,
  log: (line: string) => void,
): Watch => {
  let running = false
  let again = false
  const loop = async () => {
    running = true
    try {
      do {
        again = false
        await reload()
      } while (again)
    } finally {
      running = false
    }
  }
  return watchTree(root, (files) => {
    log(`${files.join(', ')} changed: reloading`)
    if (running) again = true
    else void loop()
  })
}
