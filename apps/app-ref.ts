/**
 * App references as gunicorn users write them: `app.ts` serves the module's default export,
 * `app.ts:api` its export `api` (gunicorn's `module:variable`). The reference travels as one
 * string — config, flags, the URL a worker imports — so the export name reaches every worker
 * with the module. A file URL may also name the export as its fragment (`file:///app.ts#api`).
 */

export interface AppRef {
  /** The module: a path, or a file URL (its query kept: reloads import a fresh copy through it). */
  readonly module: string
  /** The export to serve; `default` unless the reference names one. */
  readonly exportName: string
}

// The export is a JavaScript identifier after the last colon; anything else (a URL's scheme, a
// Windows drive) is part of the module.
const withExport = /^(.*[^:]):([A-Za-z_$][\w$]*)$/

/** Splits `PATH:EXPORT` (or a file URL ending in `:EXPORT` or `#EXPORT`) into module and export. */
export const parseAppRef = (ref: string): AppRef => {
  if (ref.startsWith('file:')) {
    const url = new URL(ref)
    const named = withExport.exec(url.pathname)
    let exportName = url.hash.slice(1) || 'default'
    if (named) {
      url.pathname = named[1]!
      exportName = named[2]!
    }
    url.hash = ''
    return { module: url.href, exportName }
  }
  const named = withExport.exec(ref)
  return named ? { module: named[1]!, exportName: named[2]! } : { module: ref, exportName: 'default' }
}
