/**
 * nginx as the bench and the chaos suite start it: its config written into `dir` for a port the
 * kernel just handed out, run in the foreground (errors to stderr, no access log), and started
 * again on a fresh port when another process took that one between probe and bind.
 */
import { freePort, type NginxConfig, nginxPath, writeNginxConfig } from '../support/nginx-config.ts'
import { type Launched, launch } from './runner.ts'

export const launchNginx = async (
  dir: string,
  config: (port: number) => Pick<NginxConfig, 'site' | 'workers'>,
  onArgv: (argv: readonly string[]) => void = () => {},
): Promise<Launched> => {
  const nginx = nginxPath()
  if (nginx === undefined) throw new Error('nginx is not installed')
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const args = writeNginxConfig({ dir, ...config(port), errorLog: 'stderr notice', accessLog: 'off' })
    const argv = [nginx, ...args]
    onArgv(argv)
    try {
      return { ...(await launch(argv, 15_000, /start worker process/)), port }
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test((error as Error).message)) throw error
    }
  }
}
