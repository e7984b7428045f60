"""Hello world as a WSGI app: the body and headers of hello-node.ts, for the Python peers of
`npm run bench` (gunicorn, uWSGI; scenario `python`) and the uWSGI backend of bench:nginx."""

BODY = b"hello world\n"
HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
