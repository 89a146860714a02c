/**
 * `node bench/limiter.mjs`: what one rate-limit decision costs, in process,
 * without gRPC around it: the memory limiter, and the Redis limiter against
 * a local redis-server with 64 decisions in flight (as at c=64), where
 * ioredis auto-pipelining puts many EVALSHAs in one write. Needs `make build`.
 */
import { pino } from 'pino';
import { createMemoryLimiter } from '../dist/admission/memory.js';
import { createRedisLimiter } from '../dist/admission/redis.js';
import { createRedisConnection } from '../dist/redis.js';
import { startRedis } from './lib.mjs';

const CALLS = Number(process.env.LIMITER_CALLS ?? 200_000);
const IN_FLIGHT = 64;
const request = [{ key: 'prod_bench', ratePerSecond: 2_000_000_000, count: 1 }];

async function measure(name, limiter, calls) {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < calls) {
      next += 1;
      const [result] = await limiter.take(request);
      if (result.granted !== 1) throw new Error(`${name}: a take was refused`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMicrosPerCall = (cpu.user + cpu.system) / calls;
  console.log(
    `| ${name} | ${calls} | ${(calls / seconds).toFixed(0)} | ${cpuMicrosPerCall.toFixed(2)} |`,
  );
}

console.log('| limiter | decisions | decisions/s | Jack CPU µs / decision |');
console.log('|---|---:|---:|---:|');
await measure('memory', createMemoryLimiter(), CALLS);
const redis = await startRedis(undefined);
if (redis === undefined) {
  console.log('| redis | skipped: redis-server not installed | | |');
} else {
  const logger = pino({ level: 'silent' });
  const connection = createRedisConnection({ url: redis.url, logger });
  await connection.waitUntilReady(5000);
  const limiter = createRedisLimiter({
    connection,
    fallback: createMemoryLimiter(),
    logger,
    metrics: { rateLimiterFallback() {} },
  });
  await measure('redis (64 in flight)', limiter, Math.min(CALLS, 50_000));
  if (!limiter.shared) console.log('(the Redis limiter fell back during the run)');
  await connection.close();
  await redis.stop();
}
