/**
 * The app the threads kind exists for: every request blocks its thread for 20 ms
 * (`Atomics.wait`, as a synchronous library call or a CPU-bound step would), then answers.
 */
const cell = new Int32Array(new SharedArrayBuffer(4))

export default {
  fetch: (_request: Request): Response => {
    Atomics.wait(cell, 0, 0, 20)
    return new Response('done\n')
  },
}
