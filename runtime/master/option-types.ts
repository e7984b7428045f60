/**
 * Value types of the option table: each turns what a user wrote (a file value, or the text of
 * a flag or an environment variable) into the resolved value, or refuses it, and says what it
 * expects so the refusal can name it. `I` is what a config file may write, `T` what the
 * resolved config holds; both feed the types derived from the table.
 */
import { isAccessLogFormat } from '../../actors/http-worker/access-log-format.ts'
import { parseBind, parseUwsgiAddress } from '../../transports/http/listen.ts'
import { trustedEntryProblem } from '../../transports/proxy/trusted-addresses.ts'
import type { WarningCode } from '../warnings.ts'

export interface OptionType<T, I = T> {
  /** The resolved value, or undefined when `value` is refused. */
  readonly parse: (value: unknown) => T | undefined
  /** What a refused value should have been, e.g. "an integer >= 1". */
  readonly expected: string
  /** The flag's value in help text (`N`, `S`, `thread|process`); none for a switch. */
  readonly metavar?: string
  /** The flag may be given several times (each adds a value). */
  readonly repeatable?: true
  /** A switch: `--reload` alone means true. */
  readonly switch?: true
  /** Old spellings still accepted, each read as its new value with a warning naming the source. */
  readonly renamed?: Readonly<Record<string, { readonly to: T; readonly warning: WarningCode }>>
  /** How a refused value is shown in the message (default: JSON). */
  readonly show?: (value: unknown, key: string) => string
  /** Phantom: the type a config file may write. */
  readonly input?: I
}

const numeric = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v)

/** An integer at least `min`; `unit` goes into the expectation ("an integer >= 0 (MB; 0: no limit)"). */
export const integer = (min: number, note?: string): OptionType<number> => ({
  parse: (v) => {
    const n = numeric(v)
    return typeof n === 'number' && Number.isInteger(n) && n >= min ? n : undefined
  },
  expected: `an integer >= ${min}${note ? ` (${note})` : ''}`,
  metavar: 'N',
})

/** A number of seconds > 0, fractions allowed. */
export const seconds: OptionType<number> = {
  parse: (v) => {
    const n = numeric(v)
    return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined
  },
  expected: 'a number of seconds > 0',
  metavar: 'S',
}

/** One of `values`; the literal union survives into the config types. */
export const oneOf = <const V extends string>(
  values: readonly V[],
  renamed?: OptionType<V>['renamed'],
): OptionType<V> => ({
  parse: (v) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as V) : undefined),
  expected: `one of ${values.join(', ')}`,
  metavar: values.join('|'),
  ...(renamed ? { renamed } : {}),
})

/** A non-empty string. */
export const text = (expected: string, metavar: string): OptionType<string> => ({
  parse: (v) => (typeof v === 'string' && v.length > 0 ? v : undefined),
  expected,
  metavar,
})

/** A non-empty string, or null (the default: unset). */
export const optionalText = (expected: string, metavar: string): OptionType<string | null, string> => ({
  parse: (v) => (v === null || (typeof v === 'string' && v.length > 0) ? v : undefined),
  expected,
  metavar,
})

/** true/false; from text, 1/0, true/false, yes/no. */
export const onOff: OptionType<boolean> = {
  parse: (v) => {
    if (typeof v === 'boolean') return v
    if (typeof v !== 'string') return undefined
    const word = v.trim().toLowerCase()
    if (['1', 'true', 'yes', 'on'].includes(word)) return true
    if (['0', 'false', 'no', 'off'].includes(word)) return false
    return undefined
  },
  expected: 'true or false (1/0, yes/no)',
  switch: true,
}

/** Whether `parse` takes `text` (it throws on what it refuses). */
const parses =
  (parse: (text: string) => unknown) =>
  (text: string): boolean => {
    try {
      parse(text)
      return true
    } catch {
      return false
    }
  }

/**
 * A list of strings, each one `valid`; text may list several, comma-separated, and repeats of
 * the flag add to it. `atLeastOne`: an empty list is refused (else empty text is none).
 */
const textList = (
  valid: (entry: string) => boolean,
  shown: { readonly expected: string; readonly metavar: string; readonly atLeastOne?: boolean },
): OptionType<readonly string[], string | readonly string[]> => ({
  parse: (v) => {
    const list =
      typeof v === 'string'
        ? v.trim() === '' && !shown.atLeastOne
          ? []
          : v.split(',').map((s) => s.trim())
        : v
    if (!Array.isArray(list) || (shown.atLeastOne && list.length === 0)) return undefined
    return list.every((entry) => typeof entry === 'string' && valid(entry)) ? (list as string[]) : undefined
  },
  expected: shown.expected,
  metavar: shown.metavar,
  repeatable: true,
})

/**
 * Bind addresses, checked by the parser the listeners use, so whatever resolves here binds:
 * `check` and `serve` refuse the same things.
 */
export const binds = textList(parses(parseBind), {
  expected: 'HOST:PORT (port 0-65535), [V6]:PORT or unix:PATH, one or a list',
  metavar: 'ADDR',
  atLeastOne: true,
})

/** `--uwsgi` addresses: HOST:PORT, [V6]:PORT or unix:PATH, none or several. */
export const uwsgiAddresses = textList(parses(parseUwsgiAddress), {
  expected: 'HOST:PORT (port 0-65535), [V6]:PORT or unix:PATH, none, one or a list',
  metavar: 'ADDR',
})

/** Addresses and networks to trust: IPv4/IPv6 addresses, CIDRs, `unix`, or `*`. */
export const trustList = textList((entry) => trustedEntryProblem(entry) === undefined, {
  expected: 'IP addresses or CIDR networks (10.0.0.0/8, fd00::/8), unix, or *, comma-separated',
  metavar: 'LIST',
})

/** Listener addresses as given to bind or uwsgi (the PROXY protocol is enabled per listener). */
export const listenerNames = textList((entry) => entry.length > 0, {
  expected: 'listener addresses as given to bind or uwsgi, comma-separated',
  metavar: 'ADDR',
})

/**
 * The admin listener's address: HOST:PORT, [V6]:PORT or unix:PATH as for `bind`, and a bare
 * PORT on the loopback (metrics stay local unless a host is named); null or 'none': none.
 */
export const adminAddress: OptionType<string | null, string> = {
  parse: (v) => {
    if (v === null || v === 'none') return null
    if (typeof v === 'number') v = String(v)
    if (typeof v !== 'string') return undefined
    const address = /^\d+$/.test(v) ? `127.0.0.1:${v}` : v
    try {
      parseBind(address)
    } catch {
      return undefined
    }
    return address
  },
  expected: "HOST:PORT, [V6]:PORT, unix:PATH, a PORT (on 127.0.0.1) or 'none'",
  metavar: 'ADDR',
}

/** A file mode: a number, or octal text such as "660" or "0o660". */
export const fileMode: OptionType<number, number | string> = {
  parse: (v) => {
    // Octal digits only, whole string, optional 0o: parseInt alone would read "0o660" as 0.
    const n =
      typeof v === 'string'
        ? /^(?:0o)?[0-7]{1,4}$/.test(v)
          ? Number.parseInt(v.replace(/^0o/, ''), 8)
          : Number.NaN
        : v
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0o777 ? n : undefined
  },
  expected: 'a file mode such as 0o660 or "660"',
  metavar: 'MODE',
}

/** A list of `T` checked item by item; the first refused item is named in the message. */
export const listOf = <T>(item: (value: unknown) => boolean, expected: string): OptionType<readonly T[]> => ({
  parse: (v) => (Array.isArray(v) && v.every(item) ? (v as T[]) : undefined),
  expected,
  show: (v, key) => {
    if (!Array.isArray(v)) return `${v === null ? 'null' : `a ${typeof v}`}`
    return `a list where ${key}[${v.findIndex((entry) => !item(entry))}] is not one`
  },
})

/** An access log format: a preset (common, combined, json) or a template of `%(x)s` fields. */
export const accessLogFormat: OptionType<string> = {
  parse: (v) => (typeof v === 'string' && isAccessLogFormat(v) ? v : undefined),
  expected: 'common, combined, json, or a template of %(x)s fields (h l u t r m U q H s b B f a T M D L p w)',
  metavar: 'FORMAT',
}
