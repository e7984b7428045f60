/**
 * `troupe top` in a real terminal: a detached tmux session of 120×30 runs it against a real
 * `troupe serve`; the test reads the pane as a user would see it and presses the keys.
 */
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { connect } from '../runtime/master/control/connect.ts'
import { PROMPT, TmuxSession, tmuxMissing } from './support/tmux.ts'
import { cliFixture, cliPath, run, scrubbedEnv, start, tempDir } from './support/troupe-cli.ts'

const WIDTH = 120
const HEIGHT = 30
const missing = tmuxMissing()
if (missing) console.warn(`spec/cli.top.test.ts: the terminal tests are skipped: ${missing}`)

/** The table row of each worker shown, by id: `w1 4127 ready 1 …` split on blanks. */
const rows = (screen: readonly string[]): Map<string, string[]> =>
  new Map(
    screen
      .filter((line) => /^w\d+ +\d/.test(line))
      .map((line) => {
        const cells = line.split(/\s+/)
        return [cells[0]!, cells]
      }),
  )
const statusLine = (screen: readonly string[]) => screen[HEIGHT - 2] ?? ''
const shell = (args: readonly string[]) => args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')

describe('troupe top', () => {
  it('refuses an interval that is not a number of seconds, in one line', async () => {
    const exit = await run(['top', '--interval', 'soon'], { cwd: tempDir() })
    expect(exit.code).toBe(2)
    expect(exit.stderr).toBe(
      'troupe: option "--interval" needs a number of seconds > 0 (see troupe top --help)\n',
    )
  })
})

describe.skipIf(missing)('troupe top in a terminal (tmux)', () => {
  it('shows the workers, adds and removes one, reloads, says when the master is gone, and quits with 0; refuses without a terminal', async () => {
    const dir = tempDir()
    const control = path.join(dir, 'c.sock')
    const serve = start(
      [
        'serve',
        cliFixture('worker-app.ts'),
        '--bind',
        '127.0.0.1:0',
        '--workers',
        '2',
        '--placement',
        'process',
        '--control',
        control,
      ],
      { cwd: dir },
    )
    await serve.serving()
    const master = await connect({ control })
    onTestFinished(() => master.close())

    const term = await TmuxSession.start({ width: WIDTH, height: HEIGHT, env: scrubbedEnv(), cwd: dir })
    await term.type(
      `${shell([process.execPath, cliPath, 'top', '--control', control])}; echo "top exited $?"`,
    )
    await term.press('Enter')

    // The workers appear, each with its own pid as the master knows it.
    let screen = await term.waitFor((s) => rows(s).size === 2 && s, 'two worker rows')
    expect(screen[0]).toMatch(new RegExp(`^troupe {2}pid ${serve.pid} {2}up \\S+ {2}generation 1 {2}handoff`))
    expect(screen.at(-1)).toMatch(/^q quit {2}r reload {2}\+ add worker {2}- remove worker/)
    for (const line of screen) expect(line.length).toBeLessThanOrEqual(WIDTH)
    const stats = await master.stats()
    expect([...rows(screen).keys()].sort()).toEqual(stats.workers.map((w) => w.id).sort())
    for (const worker of stats.workers) expect(rows(screen).get(worker.id)?.[1]).toBe(String(worker.pid))

    // Without a terminal, top refuses in one line.
    const piped = await run(['top', '--control', control], { cwd: dir })
    expect(piped.code).toBe(2)
    expect(piped.stdout).toBe('')
    expect(piped.stderr).toBe(
      'troupe: top needs a terminal; for a snapshot a script can read, use troupe stats --json\n',
    )

    // + adds a worker: a third row, with the pid of the worker the master started.
    await term.type('+')
    screen = await term.waitFor(
      (s) => rows(s).size === 3 && statusLine(s) === 'workers 2 → 3' && s,
      'a third row',
    )
    const added = (await master.stats()).workers.find((w) => !stats.workers.some((old) => old.id === w.id))!
    expect(rows(screen).get(added.id)?.[1]).toBe(String(added.pid))

    // - removes one again.
    await term.type('-')
    await term.waitFor((s) => rows(s).size === 2 && statusLine(s) === 'workers 3 → 2', 'back to two rows')
    expect((await master.stats()).workers).toHaveLength(2)

    // r reloads: "reloading…", then the outcome and a new generation on the screen.
    await term.type('r')
    await term.waitFor((s) => statusLine(s) === 'reloading…' || /^reloaded/.test(statusLine(s)), 'reloading…')
    screen = await term.waitFor(
      (s) => /^reloaded: generation 2 serves with 2 worker\(s\)/.test(statusLine(s)) && s,
      'the reload outcome',
    )
    expect((await master.stats()).instance.generation).toBe(2)
    screen = await term.waitFor(
      (s) =>
        / {2}generation 2 {2}/.test(s[0] ?? '') &&
        rows(s).size === 2 &&
        [...rows(s).values()].every((cells) => cells[3] === '2') &&
        s,
      'generation 2 in the header and the rows',
    )

    // ↓ selects the first worker; k asks first, n cancels; k then y kills it and its
    // supervisor replaces it (another pid on the same row).
    const [victim, before] = [...rows(screen)][0]!
    await term.press('Down')
    await term.type('k')
    await term.waitFor((s) => statusLine(s) === `kill ${victim} (pid ${before[1]})? y/n`, 'the kill question')
    await term.type('n')
    await term.waitFor((s) => statusLine(s) === `kill ${victim}: cancelled`, 'the kill cancelled')
    await term.type('k')
    await term.waitFor((s) => statusLine(s).startsWith(`kill ${victim} `), 'the kill question again')
    await term.type('y')
    screen = await term.waitFor(
      (s) => statusLine(s).startsWith(`killed ${victim} (killed by SIGKILL); replaced`) && s,
      'the kill outcome',
    )
    const replacement = (await master.stats()).workers.find((w) => w.id === victim)!
    expect(replacement.pid).not.toBe(Number(before[1]))
    await term.waitFor((s) => rows(s).get(victim)?.[1] === String(replacement.pid), 'the replacement pid')

    // A smaller terminal: top redraws to fit it, the keys on its last line.
    await term.resize(60, 12)
    screen = await term.waitFor(
      (s) => s.length === 12 && /^q quit/.test(s[11] ?? '') && s,
      'the redraw at 60×12',
    )
    for (const line of screen) expect(line.length).toBeLessThanOrEqual(60)

    // The master stops: top says so and keeps waiting for it.
    expect((await serve.stop()).code).toBe(0)
    await term.waitFor((s) => /^troupe top: the master is gone/.test(s[0] ?? ''), 'the master is gone')

    // q gives the terminal back: the command's line, its exit status, the prompt.
    await term.type('q')
    screen = await term.waitFor((s) => s.includes('top exited 0') && s, 'top to exit')
    // The shell's own screen is back: the exit status, then the prompt. (How the long command
    // line wraps at 60 columns depends on the temp dir's length, so it is not compared.)
    expect(screen.filter((l) => l.length > 0).slice(-2)).toEqual(['top exited 0', PROMPT])
    expect(screen.some((l) => l.startsWith('troupe top: the master is gone'))).toBe(false)
    expect(screen.filter((l) => l.length > 0).at(-1)).toBe(`${PROMPT}`)
  }, 90_000)
})
