/**
 * The built `jack` command against a real Jack with the memory ledger (SPEC
 * §14): `jobs get|list|watch`, `enqueue --wait` (exit 0 only on
 * SUCCEEDED) and `keys create --role worker`. A test "worker" reports
 * through jack.Jobs as a real one would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../src/gen/jack/jobs.js';
import { ok, runCli } from '../support/cli.js';
import { call, type RunningJack, startJack } from '../support/jack.js';
import { jobIdOf, report, runQueuedJobs } from '../support/jobs.js';

let jack: RunningJack;
const jackCli = (args: string[]) => runCli(args, { env: { JACK_ADDR: jack.address } });
const reportJob = (fields: Parameters<typeof report>[0]) =>
  call(jack.ledger, 'reportJobStatus', report(fields));

beforeAll(async () => {
  jack = await startJack();
});
afterAll(async () => {
  await jack?.close();
});

describe('jack jobs', () => {
  it("get: prints a job's record; an unknown job fails with not_found", async () => {
    const jobId = jobIdOf('prod_cli');
    await reportJob({ jobId, producerId: 'prod_cli', worker: 'w-7' });
    const table = ok(await jackCli(['jobs', 'get', jobId]));
    expect(table.stdout).toMatch(new RegExp(`job_id\\s+${jobId}`));
    expect(table.stdout).toMatch(/state\s+running/);
    expect(table.stdout).toMatch(/worker\s+w-7/);
    const json = ok(await jackCli(['jobs', 'get', jobId, '--json'])).json();
    expect(json).toMatchObject({ jobId, state: 'JOB_STATE_RUNNING', worker: 'w-7' });

    const missing = await jackCli(['jobs', 'get', jobIdOf('prod_cli')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^jack: job pjob_\S+ not found .*\(not_found\)\n$/);
    const malformed = await jackCli(['jobs', 'get', 'pjob_nope']);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/\(invalid_argument\)\n$/);
  });

  it('list: filters by producer, type and state, newest first, up to --limit', async () => {
    const producer = 'prod_cli_list';
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const jobId = jobIdOf(producer, i === 0 ? 'email' : 'resize');
      await reportJob({
        jobId,
        producerId: producer,
        jobType: i === 0 ? 'email' : 'resize',
        state: i === 3 ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_RUNNING,
      });
      ids.push(jobId);
      await new Promise((r) => setTimeout(r, 3));
    }
    const all = ok(await jackCli(['jobs', 'list', '--producer', producer, '--json'])).json<{
      jobs: { jobId: string }[];
    }>();
    expect(all.jobs.map((j) => j.jobId)).toEqual([...ids].reverse());
    const limited = ok(
      await jackCli(['jobs', 'list', '--producer', producer, '--limit', '2', '--json']),
    ).json<{ jobs: { jobId: string }[] }>();
    expect(limited.jobs.map((j) => j.jobId)).toEqual([ids[3], ids[2]]);
    const running = ok(
      await jackCli([
        'jobs',
        'list',
        '--producer',
        producer,
        '--type',
        'resize',
        '--state',
        'running,queued',
        '--since',
        '1h',
        '--json',
      ]),
    ).json<{ jobs: { jobId: string }[] }>();
    expect(running.jobs.map((j) => j.jobId)).toEqual([ids[2], ids[1]]);
    const table = ok(
      await jackCli(['jobs', 'list', '--producer', producer, '--state', 'succeeded']),
    );
    expect(table.stdout).toMatch(/^JOB_ID\s+STATE/);
    expect(table.stdout).toContain(`${ids[3]}  succeeded`);

    const bad = await jackCli(['jobs', 'list', '--state', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown state "bogus"/);
  });

  it('watch: prints each change until the job ends; exit 0 only on succeeded', async () => {
    const jobId = jobIdOf('prod_cli_watch');
    await reportJob({ jobId, producerId: 'prod_cli_watch' });
    const watching = jackCli(['jobs', 'watch', jobId]);
    // Reports until the watch has seen the end (bounded by the CLI run's own timeout).
    await new Promise((r) => setTimeout(r, 300));
    await reportJob({ jobId, producerId: 'prod_cli_watch', state: JobState.JOB_STATE_SUCCEEDED });
    const done = ok(await watching);
    const lines = done.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/succeeded {2}attempt 1/);

    const dead = jobIdOf('prod_cli_watch');
    await reportJob({
      jobId: dead,
      producerId: 'prod_cli_watch',
      state: JobState.JOB_STATE_DEAD,
      error: 'disk full',
    });
    const failed = await jackCli(['jobs', 'watch', dead]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(`jack: job ${dead} ended dead: disk full (dead)\n`);
  });
});

describe('jack enqueue, then the record (the README quick start on the embedded default)', () => {
  it('jobs get shows an enqueued job QUEUED at once', async () => {
    const enqueued = ok(
      await jackCli(['enqueue', 'prod_quick', 'send_invoice', '{"invoice": 43}', '--json']),
    ).json<{ jobId: string }>();
    const record = ok(await jackCli(['jobs', 'get', enqueued.jobId]));
    expect(record.stdout).toMatch(/state\s+queued/);
    expect(record.stdout).toMatch(/producer_id\s+prod_quick/);
  });

  it('enqueue --wait waits for the end: exit 0 on succeeded, 1 on dead', async () => {
    // A worker: every job of these producers that appears QUEUED is run and ended.
    const outcome: Record<string, JobState> = {
      prod_wait_ok: JobState.JOB_STATE_SUCCEEDED,
      prod_wait_dead: JobState.JOB_STATE_DEAD,
    };
    const ledger = jack.app.ledger;
    if (ledger === undefined) throw new Error('the ledger is on by default');
    const unsubscribe = runQueuedJobs(ledger, Object.keys(outcome), async (job) => {
      const end = outcome[job.producerId] ?? JobState.JOB_STATE_SUCCEEDED;
      const base = { jobId: job.jobId, producerId: job.producerId, jobType: job.jobType };
      await reportJob(base);
      await reportJob({
        ...base,
        state: end,
        error: end === JobState.JOB_STATE_DEAD ? 'no' : '',
      });
    });
    try {
      const good = ok(
        await jackCli([
          'enqueue',
          'prod_wait_ok',
          'resize',
          '{}',
          '--wait',
          '--wait-timeout',
          '20s',
        ]),
      );
      expect(good.stdout).toMatch(/state\s+succeeded/);
      const bad = await jackCli(['enqueue', 'prod_wait_dead', 'resize', '{}', '--wait']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^jack: job pjob_\S+ ended dead: no \(dead\)\n$/);
      expect(bad.stdout).toMatch(/state\s+dead/);
    } finally {
      unsubscribe();
    }
  });
});

describe('jack keys create --role', () => {
  it('issues a worker key, and refuses an unknown role as a usage error', async () => {
    const created = ok(await jackCli(['keys', 'create', '--role', 'worker', '--json'])).json<{
      apiKey: { role: string; producerId: string };
    }>();
    expect(created.apiKey.role).toBe('KEY_ROLE_WORKER');
    const table = ok(await jackCli(['keys', 'list']));
    expect(table.stdout).toMatch(/\(none\)\s+worker/);
    const bad = await jackCli(['keys', 'create', '--role', 'boss']);
    expect(bad.code).toBe(2);
  });
});
