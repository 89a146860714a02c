/**
 * `jack work` (SPEC §15): the built CLI runs a shell script per job from
 * the emulator's lanes, reporting to a real Jack (PostgreSQL ledger): payload on stdin, the JACK_*
 * environment, exit 0 / 65 / 75 / another status / a signal, and SIGTERM
 * ends it with exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../src/client/index.js';
import { PRIORITIES } from '../../src/worker/job.js';
import { BUILT_CLI, runCli } from '../support/cli.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { eventually } from '../support/eventually.js';
import { call } from '../support/jack.js';
import {
  createWorkerLanes,
  type JackForWorkers,
  postgresLedger,
  QUEUE_OF,
  requirePostgres,
  startJackForWorkers,
  type WorkerLanes,
} from '../support/worker-lanes.js';

const SCRIPT = `#!/bin/sh
payload=$(cat)
echo "$JACK_JOB_ID $JACK_ATTEMPT $JACK_JOB_TYPE $JACK_PRIORITY $JACK_PRODUCER_ID $payload" >> "$OUT/runs"
case "$payload" in
  ok) exit 0 ;;
  data) exit 65 ;;
  temp) [ "$JACK_ATTEMPT" -ge 2 ] && exit 0; exit 75 ;;
  signal) [ "$JACK_ATTEMPT" -ge 2 ] && exit 0; kill -9 $$ ;;
  *) exit 3 ;;
esac
`;

const withPostgres = requirePostgres('the `jack work` tests with the PostgreSQL ledger');

describe.skipIf(skipWithoutEmulator() || !withPostgres)('jack work (PostgreSQL ledger)', () => {
  let lanes: WorkerLanes;
  let env: JackForWorkers;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    lanes = await createWorkerLanes(pubsubEmulatorHost());
    env = await startJackForWorkers(lanes, 2, await postgresLedger('jack_work'));
    dir = mkdtempSync(join(tmpdir(), 'jack-work-'));
    writeFileSync(join(dir, 'job.sh'), SCRIPT);
    chmodSync(join(dir, 'job.sh'), 0o755);
    writeFileSync(join(dir, 'runs'), '');
  });
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    env?.client.close();
    await env?.jack.close();
    await lanes?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('settles each job by the exit status of the script; SIGTERM stops it with exit 0', async () => {
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
          ...lanes.env(),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const payloads = ['ok', 'data', 'temp', 'signal', 'other'];
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
      signal: [JobState.JOB_STATE_SUCCEEDED, 2],
      other: [JobState.JOB_STATE_DEAD, 2],
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
    expect(runs).toContain(`${idOf.ok} 1 ${type} high ${env.producerId} ok`);
    expect(runs.filter((l) => l.startsWith(`${idOf.temp} `))).toEqual([
      `${idOf.temp} 1 ${type} high ${env.producerId} temp`,
      `${idOf.temp} 2 ${type} high ${env.producerId} temp`,
    ]);
    expect(runs.filter((l) => l.startsWith(`${idOf.data} `))).toHaveLength(1);
    expect(runs).toHaveLength(8);
    const failed = (await env.client.getJob({ jobId: idOf.other as string })).lastError;
    expect(failed).toContain('exited with 3');

    const exited = new Promise<number | null>((resolve) =>
      child?.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 40_000);

  it('a lane naming a missing subscription stops it with one line and exit 1', async () => {
    const result = await runCli(['work', '--lane', 'high=no-such-subscription', '--', 'true'], {
      env: lanes.env(),
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'jack: lane high (no-such-subscription): no such subscription (failed_precondition)',
    );
  }, 30_000);
});
