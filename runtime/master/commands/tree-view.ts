/**
 * `troupe tree` as people read it: one row per node, indented under its supervisor, with what
 * a `pm2 ls` user looks for. On a terminal, branch glyphs and coloured states; elsewhere the
 * same columns in plain text (indentation by spaces, no colour) for grep and logs.
 */
import { describeExit } from '../../exit.ts'
import type { TreeNode } from '../../tree.ts'
import { columns, count, duration, megabytes, painter, percent } from './format.ts'

const HEADER = [
  'NAME',
  'PLACEMENT',
  'PID',
  'STATE',
  'UPTIME',
  'RESTARTS',
  'REQUESTS',
  'INFLIGHT',
  'MEMORY',
  'ELU',
  'LAST EXIT',
]

const stateColour: Record<TreeNode['state'], number> = {
  ready: 32,
  starting: 33,
  restarting: 33,
  stopping: 33,
  stopped: 90,
  failed: 31,
}

/** The numbers a worker reports (`info`), read defensively: app actors report what they like. */
const numberIn = (info: TreeNode['info'], key: string): number | undefined => {
  const value = info?.[key]
  return typeof value === 'number' ? value : undefined
}

const where = (node: TreeNode): string => {
  if (node.kind === 'supervisor') return node.strategy ?? 'supervisor'
  return node.placement ?? '-'
}

const pidOf = (node: TreeNode): string => {
  if (node.pid === null || node.pid === undefined) return '-'
  return node.threadId ? `${node.pid}/t${node.threadId}` : String(node.pid)
}

export const renderTree = (
  tree: TreeNode,
  options: { readonly tty: boolean; readonly now?: number },
): string => {
  const paint = painter(options.tty)
  const now = options.now ?? Date.now()
  const rows: string[][] = [HEADER.map((h) => paint(1, h))]
  const visit = (node: TreeNode, prefix: string, childPrefix: string) => {
    const draining = node.info?.draining === true
    const state = draining && node.state === 'ready' ? 'draining' : node.state
    rows.push([
      `${prefix}${node.name}`,
      where(node),
      pidOf(node),
      paint(draining ? 33 : stateColour[node.state], state),
      duration(node.startedAt === null ? null : now - node.startedAt),
      String(node.restarts),
      count(numberIn(node.info, 'requests')),
      count(numberIn(node.info, 'inflight')),
      megabytes(node.memory?.rss),
      percent(numberIn(node.info, 'elu')),
      node.lastExit ? describeExit(node.lastExit) : '-',
    ])
    const children = node.children ?? []
    children.forEach((child, i) => {
      const last = i === children.length - 1
      if (options.tty)
        visit(child, `${childPrefix}${last ? '└─ ' : '├─ '}`, `${childPrefix}${last ? '   ' : '│  '}`)
      else visit(child, `${childPrefix}  `, `${childPrefix}  `)
    })
  }
  visit(tree, '', '')
  return `${columns(rows).join('\n')}\n`
}
