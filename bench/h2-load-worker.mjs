/**
 * The per-call-request load generator (see openHttp2Load in lib.mjs). One
 * process serves a whole slice: it stays up (and warm: a fresh Node process
 * is several times slower for its first seconds, which once made this
 * generator the bottleneck) and runs one window per line read on stdin,
 * `{"seconds": N}`: it keeps `concurrency` gRPC unary calls in flight on
 * one HTTP/2 connection for N seconds, each body built by the scenario's
 * `request(ctx, index)` (index keeps counting across windows, so a fresh
 * key stays fresh), then prints {ok, failed, wall, latencies, firstError}
 * as one JSON line. Exits when stdin closes.
 * argv: one JSON object {address, path, scenarioId, ctx, metadata, concurrency}
 */

import http2 from 'node:http2';
import { createInterface } from 'node:readline';
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

async function window(seconds) {
  const started = performance.now();
  const endAt = started + seconds * 1000;
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let firstError;
  const loop = async () => {
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
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const wall = (performance.now() - started) / 1000;
  return { ok, failed, wall, latencies, firstError };
}

for await (const line of createInterface({ input: process.stdin })) {
  const { seconds } = JSON.parse(line);
  process.stdout.write(`${JSON.stringify(await window(seconds))}\n`);
}
session.close();
