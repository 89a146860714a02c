/**
 * One process of the fallback load generator (used only when h2load is
 * unavailable): keeps `concurrency` unary calls in flight on one grpc-js
 * channel for `seconds`, then prints {ok, failed, latencies} as JSON.
 * argv: address path message-file concurrency seconds
 */
import { readFileSync } from 'node:fs';
import grpc from '@grpc/grpc-js';
import { rawUnary } from './lib.mjs';

const [address, path, messageFile, concurrencyText, secondsText] = process.argv.slice(2);
const message = readFileSync(messageFile);
const client = new grpc.Client(address, grpc.credentials.createInsecure());
const endAt = performance.now() + Number(secondsText) * 1000;
const latencies = [];
let ok = 0;
let failed = 0;

async function loop() {
  while (performance.now() < endAt) {
    const started = performance.now();
    try {
      await rawUnary(client, path, message);
      ok++;
      latencies.push(performance.now() - started);
    } catch {
      failed++;
    }
  }
}

await Promise.all(Array.from({ length: Number(concurrencyText) }, loop));
client.close();
process.stdout.write(`${JSON.stringify({ ok, failed, latencies })}\n`);
