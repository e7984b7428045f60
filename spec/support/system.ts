import { onTestFinished } from 'vitest'
import { type ActorSystem, createSystem, type ExitReason, type SystemOptions } from '../../runtime/index.ts'

/** A system stopped when the test ends, whatever happens; root failures are recorded, not fatal. */
export const testSystem = async (
  options: SystemOptions = {},
): Promise<ActorSystem & { failures: ExitReason[] }> => {
  const failures: ExitReason[] = []
  const system = await createSystem({ onFailure: (reason) => failures.push(reason), ...options })
  onTestFinished(() => system.stop())
  return Object.assign(system, { failures })
}

/** The node at `path` in a tree, or undefined. */
export const nodeAt = (tree: import('../../runtime/index.ts').TreeNode, path: string) => {
  const walk = (node: import('../../runtime/index.ts').TreeNode): typeof node | undefined =>
    node.path === path ? node : node.children?.map(walk).find(Boolean)
  return walk(tree)
}
