/**
 * The per-call-request load generator (see runHttp2Load in lib.mjs): keeps
 * `concurrency` gRPC unary calls in flight on one HTTP/2 connection for
 * `seconds`, each body built by the scenario's `request(ctx, index)`, then
 * prints {ok, failed, wall, latencies, firstError} as one JSON line.
 * argv: one JSON object {address, path, scenarioId, ctx, metadata, concurrency, seconds}
 */
import http2 from 'node:http2';
import { EnqueueRequest } from '../dist/gen/jack/jack.js';
import { grpcFrame } from './lib.mjs';
import { SCENARIOS } from './scenarios.mjs';

const spec = JSON.parse(process.argv[2]);
const scenario = SCENARIOS.find((s) => s.id === spec.scenarioId);
if (scenario?.request === undefined) throw new Error(`${spec.scenarioId} has no request generator`);
const session = http2.connect(`http://${spec.address}`);
session.on('error', () => {});
const headers = {
  ':method': 'POST',
  ':path': spec.path,
  'content-type': 'application/grpc',
  te: 'trailers',
  ...spec.metadata,
};
const started = performance.now();
const endAt = started + spec.seconds * 1000;
const latencies = [];
let ok = 0;
let failed = 0;
let firstError;
let index = 0;

function call(body) {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let status;
    let message;
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'];
      message = trailers['grpc-message'];
    });
    stream.on('response', (h) => {
      // A trailers-only answer carries the status in the headers.
      status ??= h['grpc-status'];
      message ??= h['grpc-message'];
    });
    stream.on('error', (err) => resolve(`stream error: ${err.message}`));
    stream.on('close', () =>
      resolve(
        status === '0' ? undefined : `grpc-status ${status}: ${decodeURIComponent(message ?? '')}`,
      ),
    );
    stream.resume();
    stream.end(body);
  });
}

async function loop() {
  while (performance.now() < endAt) {
    const body = grpcFrame(EnqueueRequest.encode(scenario.request(spec.ctx, index++)).finish());
    const t0 = performance.now();
    const error = await call(body);
    if (error === undefined) {
      ok++;
      latencies.push(performance.now() - t0);
    } else {
      failed++;
      firstError ??= error;
    }
  }
}

await Promise.all(Array.from({ length: spec.concurrency }, loop));
const wall = (performance.now() - started) / 1000;
session.close();
process.stdout.write(`${JSON.stringify({ ok, failed, wall, latencies, firstError })}\n`);
