/**
 * node:http as troupe's modules take it: through `process.getBuiltinModule`, not `import`. An
 * ESM import of node:http builds its namespace from every export, and reading them loads
 * undici and the web streams: 26 ms in a fresh worker thread against 2 ms this way (Node 26.10,
 * measured here), in every worker spawn and in the master's start. Types still come from
 * `import type`.
 */
export const nodeHttp: typeof import('node:http') = process.getBuiltinModule('node:http')
