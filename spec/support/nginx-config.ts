/**
 * nginx's side of the nginx tests and bench, free of any test runner: where the binary is,
 * a free port for it, and the config it runs with (one worker, everything it writes in its own
 * directory, `user root` under root so its worker can reach a 0660 socket).
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

/** The nginx binary: Debian's, else the first `nginx` on the PATH; undefined if none. */
export const nginxPath = (): string | undefined => {
  if (fs.existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx'
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' })
  const found = which.stdout.trim()
  return which.status === 0 && found !== '' ? found : undefined
}

/** A port the kernel considers free right now (it may be taken again before nginx binds it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

/** Debian's uwsgi_params, or the same parameters written out where it is absent. */
export const uwsgiParams = (): string => {
  const debian = '/etc/nginx/uwsgi_params'
  if (fs.existsSync(debian)) return fs.readFileSync(debian, 'utf8')
  return [
    'QUERY_STRING $query_string',
    'REQUEST_METHOD $request_method',
    'CONTENT_TYPE $content_type',
    'CONTENT_LENGTH $content_length',
    'REQUEST_URI $request_uri',
    'PATH_INFO $document_uri',
    'DOCUMENT_ROOT $document_root',
    'SERVER_PROTOCOL $server_protocol',
    'REQUEST_SCHEME $scheme',
    'HTTPS $https if_not_empty',
    'REMOTE_ADDR $remote_addr',
    'REMOTE_PORT $remote_port',
    'SERVER_PORT $server_port',
    'SERVER_NAME $server_name',
  ]
    .map((line) => `uwsgi_param ${line};\n`)
    .join('')
}

export interface NginxConfig {
  /** Its directory: pid file, logs, temp paths. */
  readonly dir: string
  /** The config inside `http {}`: upstreams and servers. */
  readonly site: string
  /** Directives for `http {}` before the site. */
  readonly http?: string | undefined
  /** Where the error log goes (default DIR/error.log) and from which level (default info). */
  readonly errorLog?: string | undefined
  /** The access log (default DIR/access.log; `off` for none). */
  readonly accessLog?: string | undefined
  /** worker_processes (default 1). */
  readonly workers?: number | undefined
}

/** nginx.conf for `config`. */
export const nginxConfig = ({
  dir,
  site,
  http = '',
  errorLog,
  accessLog,
  workers = 1,
}: NginxConfig): string =>
  [
    // Workers of a root master run as nobody unless told: they could not reach a 0660 socket.
    process.getuid?.() === 0 ? 'user root;' : '',
    `worker_processes ${workers};`,
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${errorLog ?? `${dir}/error.log info`};`,
    'events { worker_connections 1024; }',
    'http {',
    `  access_log ${accessLog ?? `${dir}/access.log`};`,
    `  client_body_temp_path ${dir}/client_body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    http,
    site,
    '}',
    '',
  ].join('\n')

/** Writes `config` as DIR/nginx.conf, with the uwsgi_params it may include beside it; returns nginx's argv after the binary. */
export const writeNginxConfig = (config: NginxConfig): string[] => {
  fs.writeFileSync(path.join(config.dir, 'nginx.conf'), nginxConfig(config))
  fs.writeFileSync(path.join(config.dir, 'uwsgi_params'), uwsgiParams())
  return [
    '-p',
    config.dir,
    '-c',
    path.join(config.dir, 'nginx.conf'),
    '-e',
    config.errorLog?.split(' ')[0] ?? path.join(config.dir, 'error.log'),
  ]
}
