/**
 * The answer side of a uwsgi connection. nginx's uwsgi module reads the response as HTTP/1.x
 * headers and then a body that is either Content-Length bytes or everything until the
 * connection closes: it does not decode chunked transfer coding (the chunk sizes would reach
 * the client as part of the body) and it never reuses the connection.
 */
import type { ServerResponse } from 'node:http'

/**
 * Fits a node:http response for nginx's uwsgi module; call it before the app writes. A response
 * of known length (`res.end(data)`, or the app's own Content-Length) keeps its Content-Length;
 * any other is sent unchunked and ended by closing the connection. Either way the connection
 * closes after the response (`Connection: close`), as nginx expects of an upstream it does
 * not keep alive.
 */
export const uwsgiResponse = (res: ServerResponse): void => {
  res.shouldKeepAlive = false
  // node:http chunks a body of unknown length unless Transfer-Encoding was removed: then it
  // delimits it by the close. A known length still goes out as Content-Length.
  res.removeHeader('Transfer-Encoding')
}
