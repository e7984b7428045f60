/** hello-fetch.ts as plain JavaScript: the fetch-style hello as a production app ships, with no type stripping. */
export default {
  fetch: (_request) => new Response('hello world\n'),
}
