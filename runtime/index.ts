/**
 * troupe's public API. Kept light on purpose: worker threads and child processes import
 * this module (through the user's app), so nothing here may load the control plane's
 * heavy libraries at import time.
 */

export {
  type AppContext,
  type AppDefinition,
  type AppOptions,
  type DrainContext,
  defineApp,
  type FetchHandler,
  type NodeHandler,
  type SetupContext,
  type UpgradeHandler,
} from '../apps/app.ts'
export type { WebSocketHooks } from '../apps/websocket-hooks.ts'
export { type ClientInfo, clientAddress } from '../transports/http/client.ts'
export {
  type ActorContext,
  type ActorDefinition,
  type ArgsOfDefinition,
  defineActor,
  type MessageSpec,
  type Placement,
  type ProtocolOf,
  type ProtocolOfDefinition,
  type Transfer,
  transfer,
} from './actor.ts'
export { type BackoffOptions, backoffDefaults, backoffDelay } from './backoff.ts'
export {
  channelNames,
  channels,
  type EscalateEvent,
  type ExitEvent,
  type ReadyEvent,
  type ReportEvent,
  type RestartEvent,
  type SpawnEvent,
} from './channels.ts'
export type { Clock } from './clock.ts'
export * from './errors.ts'
export type { ExitKind, ExitReason } from './exit.ts'
export {
  type ActorRestartEvent,
  type ListenerEvent,
  type ReloadDoneEvent,
  type ReloadFailedEvent,
  type ReloadStartEvent,
  type ScaleEvent,
  type ServerEvent,
  serverChannelNames,
  serverChannels,
  type WorkerExitEvent,
  type WorkerReadyEvent,
  type WorkerRecycleEvent,
} from './master/channels.ts'
export { configDefaults, defineConfig, type ResolvedConfig, type TroupeConfig } from './master/config.ts'
export type {
  ControlApi,
  InstanceInfo,
  KillOutcome,
  LatencySummary,
  ListenerStats,
  ReloadOutcome,
  RequestCounts,
  RestartOutcome,
  ScaleOutcome,
  Stats,
  StatusCounts,
  WorkerStats,
} from './master/control/api.ts'
export type { ConnectOptions, RemoteMaster } from './master/control/connect.ts'
export type { LogFields, Logger, LogLevel, LogThreshold } from './master/log.ts'
export { type ServeOptions, type Server, startServer } from './master/master.ts'
export type { ActorRef, AskOptions, MessageArgs, TellOptions } from './ref.ts'
export type { Strategy, SupervisorOptions } from './supervisor.ts'
export {
  type ActorOptions,
  type ActorSystem,
  actor,
  actorDefaults,
  type ChildSpec,
  createSystem,
  Pool,
  type PoolOptions,
  type SupervisorSpecOptions,
  type SystemOptions,
  supervisor,
} from './system.ts'
export type { NodeState, RestartType, TreeNode } from './tree.ts'
export { type WarningCode, type WarningEntry, warningCatalogue } from './warnings.ts'

/**
 * Connects to a running master's control socket: `--control PATH`, `--name NAME`, or the only
 * master running. The control plane (comlink) loads on first use, never in a worker.
 */
export const connect = async (
  options?: import('./master/control/connect.ts').ConnectOptions,
): Promise<import('./master/control/connect.ts').RemoteMaster> =>
  (await import('./master/control/connect.ts')).connect(options)
