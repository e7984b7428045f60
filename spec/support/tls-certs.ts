/**
 * Test certificates made with openssl: a CA, two server certificates it signed (for 127.0.0.1
 * and localhost, to test a rotation), a key that matches neither, and a client certificate for
 * mutual TLS. Written to a temp dir that the caller removes; the paths are returned.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TestCerts {
  readonly dir: string
  readonly ca: string
  readonly cert: string
  readonly key: string
  readonly cert2: string
  readonly key2: string
  readonly strayKey: string
  readonly clientCert: string
  readonly clientKey: string
}

const openssl = (args: readonly string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: 'pipe' })

export const makeCerts = (): TestCerts => {
  // Not tempDir(): made once for a whole file (beforeAll); the caller removes it.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'troupe-certs-'))
  const at = (name: string) => path.join(dir, name)
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=troupe test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  )
  const issue = (name: string, subject: string, extensions: string) => {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        subject,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ],
      dir,
    )
    writeFileSync(at(`${name}.ext`), `${extensions}\n`)
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.pem`,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    )
  }
  issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth')
  issue('server2', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth')
  issue('client', '/CN=troupe test client', 'extendedKeyUsage=clientAuth')
  openssl(['genrsa', '-out', 'stray.key', '2048'], dir)
  return {
    dir,
    ca: at('ca.pem'),
    cert: at('server.pem'),
    key: at('server.key'),
    cert2: at('server2.pem'),
    key2: at('server2.key'),
    strayKey: at('stray.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  }
}
