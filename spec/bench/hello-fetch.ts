/** Fetch-style hello world: one app for all four troupe combinations (placement × kind). */
export default {
  fetch: (_request: Request): Response => new Response('hello world\n'),
}
