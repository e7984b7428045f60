// What `npm start` serves: the example app on 127.0.0.1:8000 with two thread workers.
import { defineConfig } from './runtime/master/config.ts'

export default defineConfig({
  app: './apps/visits.ts',
  bind: '127.0.0.1:8000',
  workers: 2,
  placement: 'thread',
  kind: 'coroutine',
})
