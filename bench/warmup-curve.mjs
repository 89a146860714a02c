/**
 * The warm-up curve: server CPU µs per call of a FRESH server (Jack, or the
 * baseline) over consecutive 4 s windows of Enqueue c=64 load, to see how
 * long a new process takes to reach its steady cost (docs/performance.md).
 * Needs `make build` and h2load.
 *   node bench/warmup-curve.mjs [jack|baseline ...] (default: baseline jack baseline jack)
 * env: WARMUP_CURVE_WINDOWS (12)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnqueueRequest } from '../dist/gen/jack/jack.js';
import {
  freePort,
  grpcFrame,
  healthServing,
  processCpuSeconds,
  rawUnary,
  runH2load,
  startServer,
  writeConfigDir,
} from './lib.mjs';
import { enqueueRequest } from './scenarios.mjs';

const tmp = await mkdtemp(join(tmpdir(), 'warm-'));
const producerId = 'prod_0000be4c';
await writeConfigDir(join(tmp, 'c'), [{ producerId }]);
const bodyFile = join(tmp, 'b.bin');
await writeFile(bodyFile, grpcFrame(EnqueueRequest.encode(enqueueRequest(producerId)).finish()));
const PROBE = Buffer.from(EnqueueRequest.encode(enqueueRequest(producerId)).finish());
const sides =
  process.argv.length > 2 ? process.argv.slice(2) : ['baseline', 'jack', 'baseline', 'jack'];
const windows = Number(process.env.WARMUP_CURVE_WINDOWS ?? 12);
for (const side of sides) {
  const port = await freePort();
  const server =
    side === 'jack'
      ? await startServer({
          name: 'jack',
          argv: [process.execPath, 'dist/main.js'],
          env: {
            PATH: process.env.PATH,
            GRPC_HOST: '127.0.0.1',
            GRPC_PORT: String(port),
            METRICS_PORT: String(await freePort()),
            CONFIG_DIR: join(tmp, 'c'),
          },
          cpu: 0,
          address: `127.0.0.1:${port}`,
          ready: healthServing,
        })
      : await startServer({
          name: 'baseline',
          argv: [process.execPath, 'bench/baseline-server.mjs'],
          env: { PATH: process.env.PATH, GRPC_PORT: String(port) },
          cpu: 0,
          address: `127.0.0.1:${port}`,
          ready: (c) => rawUnary(c, '/jack.BackgroundJobs/Enqueue', PROBE, 1000),
        });
  const row = [];
  for (let w = 0; w < windows; w++) {
    const cpu0 = processCpuSeconds(server.pid);
    const r = await runH2load({
      url: `http://${server.address}/jack.BackgroundJobs/Enqueue`,
      bodyFile,
      concurrency: 64,
      seconds: 4,
      cpu: 1,
      logFile: join(tmp, 'l.log'),
    });
    row.push((((processCpuSeconds(server.pid) - cpu0) * 1e6) / r.calls).toFixed(0));
  }
  console.log(side.padEnd(9), 'CPU µs/call per 4 s window:', row.join(' '));
  await server.stop();
}
await rm(tmp, { recursive: true, force: true });
