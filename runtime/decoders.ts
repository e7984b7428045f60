/**
 * The decoders of an actor that declares Effect Schemas, one per message type: the ref runs
 * them at the sender, so a malformed payload is refused before it is sent.
 */

/** Returns the decoded payload, or throws why it does not decode. */
export type Decoder = (payload: unknown) => unknown

let schemaModule: Promise<typeof import('effect/Schema')> | undefined

export const loadDecoders = async (
  schemas: Readonly<Record<string, unknown>>,
): Promise<ReadonlyMap<string, Decoder>> => {
  // Effect is the control plane's library: loaded only when some actor declares a schema.
  schemaModule ??= import('effect/Schema')
  const Schema = await schemaModule
  const decoders = new Map<string, Decoder>()
  for (const [type, schema] of Object.entries(schemas)) {
    if (schema === undefined) continue
    decoders.set(type, Schema.decodeUnknownSync(schema as Parameters<typeof Schema.decodeUnknownSync>[0]))
  }
  return decoders
}
