/**
 * `jack work` on NATS JetStream (SPEC §15, §17): the built CLI consumes the
 * durable consumers named by its lanes on a real nats-server, runs a shell
 * script per job and settles each by its exit status, reporting to a real
 * Jack (QUEUE_BACKEND=nats); SIGTERM ends it with exit 0; a lane naming a
 * missing consumer stops it with one line that carries no credentials.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../src/client/index.js';
import { PRIORITIES } from '../../src/worker/job.js';
import { BUILT_CLI, runCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { call } from '../support/jack.js';
import { type NatsServer, natsAvailable, startNatsServer } from '../support/nats.js';
import { createNatsWorkerLanes, type NatsWorkerLanes } from '../support/nats-worker-lanes.js';
import { type JackForWorkers, QUEUE_OF, startJackForWorkers } from '../support/worker-lanes.js';

const SCRIPT = `#!/bin/sh
payload=$(cat)
echo "$JACK_JOB_ID $JACK_ATTEMPT $JACK_JOB_TYPE $JACK_PRIORITY $payload" >> "$OUT/runs"
case "$payload" in
  ok) exit 0 ;;
  data) exit 65 ;;
  temp) [ "$JACK_ATTEMPT" -ge 2 ] && exit 0; exit 75 ;;
  *) exit 3 ;;
esac
`;

describe.skipIf(!natsAvailable())('jack work on NATS', () => {
  let nats: NatsServer;
  let lanes: NatsWorkerLanes;
  let env: JackForWorkers;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    lanes = await createNatsWorkerLanes(nats.url);
    env = await startJackForWorkers(lanes);
    dir = mkdtempSync(join(tmpdir(), 'jack-work-nats-'));
    writeFileSync(join(dir, 'job.sh'), SCRIPT);
    chmodSync(join(dir, 'job.sh'), 0o755);
    writeFileSync(join(dir, 'runs'), '');
  }, 30_000);
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    env?.client.close();
    await env?.jack.close();
    await lanes?.close();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('settles each job by the exit status of the script (0, 65, 75 then 0); SIGTERM stops it with exit 0', async () => {
    const type = 'scripted';
    await call(env.jack.admin, 'createJobType', {
      producerId: env.producerId,
      name: type,
      queue: QUEUE_OF.high,
      maxRetries: 1,
      description: '',
    });
    let stderr = '';
    child = spawn(
      process.execPath,
      [
        BUILT_CLI,
        'work',
        '--backend',
        'nats',
        ...PRIORITIES.flatMap((p) => ['--lane', `${p}=${lanes.lanes[p]}`]),
        '--concurrency',
        '4',
        '--',
        join(dir, 'job.sh'),
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          OUT: dir,
          JACK_ADDR: env.jack.address,
          NATS_URL: nats.url,
          NATS_STREAM: lanes.fixture.stream,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const payloads = ['ok', 'data', 'temp'];
    const { results } = await env.client.enqueueBulk({
      jobs: payloads.map((p) => ({
        producerId: env.producerId,
        jobType: type,
        payload: Buffer.from(p),
      })),
    });
    const idOf = Object.fromEntries(payloads.map((p, i) => [p, results[i]?.jobId as string]));
    const expected: Record<string, [JobState, number]> = {
      ok: [JobState.JOB_STATE_SUCCEEDED, 1],
      data: [JobState.JOB_STATE_DEAD, 1],
      temp: [JobState.JOB_STATE_SUCCEEDED, 2],
    };
    await eventually(
      `every job settled (stderr: ${stderr.slice(-500)})`,
      async () => {
        const records = await Promise.all(
          payloads.map((p) => env.client.getJob({ jobId: idOf[p] as string })),
        );
        return records.every((r, i) => {
          const [state, attempts] = expected[payloads[i] as string] as [JobState, number];
          return r.state === state && r.attempts === attempts;
        });
      },
      20_000,
    );
    const runs = readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n');
    expect(runs).toContain(`${idOf.ok} 1 ${type} high ok`);
    expect(runs.filter((l) => l.startsWith(`${idOf.temp} `))).toEqual([
      `${idOf.temp} 1 ${type} high temp`,
      `${idOf.temp} 2 ${type} high temp`,
    ]);
    expect(runs.filter((l) => l.startsWith(`${idOf.data} `))).toHaveLength(1);
    expect(runs).toHaveLength(4);

    const exited = new Promise<number | null>((resolve) =>
      child?.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Everything was acknowledged or termed: nothing waits on the lane.
    const info = await lanes.fixture.jsm.consumers.info(lanes.fixture.stream, lanes.lanes.high);
    expect({ pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({
      pending: 0,
      unacked: 0,
    });
  }, 40_000);

  it('a lane naming a missing consumer stops it with one line and exit 1, no credentials in it', async () => {
    const password = 'pw-never-printed';
    const url = nats.url.replace('nats://', `nats://worker:${password}@`);
    const result = await runCli(
      ['work', '--backend', 'nats', '--lane', 'high=no-such-consumer', '--', 'true'],
      { env: { NATS_URL: url, NATS_STREAM: lanes.fixture.stream }, timeoutMs: 20_000 },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `jack: lane high (no-such-consumer): no consumer no-such-consumer on NATS stream ${lanes.fixture.stream} (failed_precondition)`,
    );
    expect(result.stderr).not.toContain(password);
  }, 30_000);

  it('a NATS setting that does not parse stops it at once, naming the variable only', async () => {
    const result = await runCli(['work', '--lane', 'high=x', '--', 'true'], {
      env: { QUEUE_BACKEND: 'nats', NATS_URL: 'http://user:pw-secret@host' },
      timeoutMs: 10_000,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'NATS_URL entry 1 is not a nats://host:port or tls://host:port URL',
    );
    expect(result.stderr).not.toContain('pw-secret');
  }, 20_000);
});
