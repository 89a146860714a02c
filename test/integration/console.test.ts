/**
 * The console (SPEC §18) in a real headless Chromium against a real Jack
 * (in process, HTTP_PORT on a free port): sign-in with a bad and a good key
 * (from the keyboard too), every page rendered and checked by axe-core, a
 * create / edit / delete round trip for a producer, a job type and a key
 * (checked through gRPC), Jack's own error shown, a job's page following a
 * worker's reports live, the headers the files are served with, gRPC-Web
 * calls made by the browser itself, and AUTH_MODE=off: a newcomer's first
 * producer (typed from the keyboard), job type, key and job, and every list
 * paged. Screenshots of each page go to test-artifacts/console/ (ignored by
 * git).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateProducerRequest, CreateProducerResponse } from '../../src/gen/jack/admin.js';
import { EnqueueRequest, EnqueueResponse } from '../../src/gen/jack/jack.js';
import { JobState } from '../../src/gen/jack/jobs.js';
import { KeyRole, Queue } from '../../src/gen/jack/storage.js';
import {
  type Browser,
  chromiumAvailable,
  launchChromium,
  seriousA11yViolations,
} from '../support/browser.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { report } from '../support/jobs.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const admin = { authorization: `Bearer ${BOOTSTRAP}` };

/**
 * Jack's refusals (400 invalid argument, 401 unauthenticated, 403 permission
 * denied) are part of the flows under test; anything else the browser logs as
 * an error (a CSP refusal, a missing file, a script error) is a problem.
 */
const EXPECTED_REFUSAL = /^Failed to load resource: the server responded with a status of 40[013] /;

/** A new tab (its own sessionStorage) that records CSP refusals, missing files and page errors. */
async function openTab(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !EXPECTED_REFUSAL.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(url);
  return { page, problems };
}

async function checkPage(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  expect(await seriousA11yViolations(page), `axe on ${name}`).toEqual([]);
}

const row = (page: Page, text: string) => page.locator('tbody tr', { hasText: text });

/**
 * Walks a paged table from its first page: each page shows the next
 * `pageSize` of `expected` in the cells `cells` selects, "Next page" is
 * disabled on the last, and "Previous page" goes back one.
 */
async function checkPaged(
  page: Page,
  cells: string,
  expected: string[],
  pageSize: number,
): Promise<void> {
  const pages = Math.ceil(expected.length / pageSize);
  expect(pages, 'more items than one page').toBeGreaterThan(1);
  const pager = page.getByRole('navigation', { name: 'Pages' });
  const shown = () => page.locator(cells).allTextContents();
  for (let i = 0; i < pages; i++) {
    if (i > 0) await pager.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(shown).toEqual(expected.slice(i * pageSize, (i + 1) * pageSize));
    await pager.getByText(`Page ${i + 1}`).waitFor();
    if (i === 0) {
      expect(await pager.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
    }
  }
  expect(await pager.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
  await pager.getByRole('button', { name: 'Previous page' }).click();
  await expect.poll(shown).toEqual(expected.slice((pages - 2) * pageSize, (pages - 1) * pageSize));
}

/** What a gRPC-Web call made by the page's own fetch came back with. */
interface GrpcWebAnswer {
  httpStatus: number;
  contentType: string;
  messages: Buffer[];
  /** From the trailer frame at the end of the body. */
  trailers: Record<string, string>;
}

/**
 * One unary gRPC-Web call (application/grpc-web+proto) made by the browser
 * from the console's page (same origin, under its CSP): the request framed
 * in the page, the response's frames split here. The protobuf bytes are
 * ts-proto's, encoded and decoded in the test.
 */
async function grpcWebCall(
  page: Page,
  method: string,
  message: Uint8Array,
  key?: string,
): Promise<GrpcWebAnswer> {
  const raw = await page.evaluate(
    async ({ method, bytes, key }) => {
      const body = new Uint8Array(5 + bytes.length);
      new DataView(body.buffer).setUint32(1, bytes.length);
      body.set(bytes, 5);
      const headers: Record<string, string> = {
        'content-type': 'application/grpc-web+proto',
        'x-grpc-web': '1',
      };
      if (key !== undefined) headers.authorization = `Bearer ${key}`;
      const res = await fetch(`/${method}`, { method: 'POST', headers, body, credentials: 'omit' });
      return {
        status: res.status,
        contentType: res.headers.get('content-type') ?? '',
        body: Array.from(new Uint8Array(await res.arrayBuffer())),
      };
    },
    { method, bytes: Array.from(message), key },
  );
  const body = Buffer.from(raw.body);
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  for (let at = 0; at + 5 <= body.length; ) {
    const flags = body[at] as number;
    const length = body.readUInt32BE(at + 1);
    const data = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if ((flags & 0x80) === 0) {
      messages.push(data);
      continue;
    }
    for (const line of data.toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0)
        trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { httpStatus: raw.status, contentType: raw.contentType, messages, trailers };
}

describe.skipIf(!chromiumAvailable())('console in Chromium', () => {
  let browser: Browser;
  let jack: RunningJack;
  let url: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [browser, jack] = await Promise.all([
      launchChromium(),
      startJack({ AUTH_MODE: 'on', AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP, HTTP_PORT: '0' }),
    ]);
    url = `http://127.0.0.1:${jack.app.httpPort}/`;
  });
  afterAll(async () => {
    await browser?.close();
    await jack?.close();
  });

  it('serves the files with a strict CSP, content types and cache rules, and no cookie', async () => {
    const index = await fetch(url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.has('set-cookie')).toBe(false);
    const html = await index.text();
    const script = /src="(\/assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1] as string;
    expect(html).not.toMatch(/<script>|<style>| style="/);
    const asset = await fetch(new URL(script, url));
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(new URL('/nothing-here', url))).status).toBe(404);
  });

  it("refuses a bad key with Jack's message, then signs in with a good one (kept in the tab only)", async () => {
    const { page, problems } = await openTab(browser, url);
    await page.getByLabel('API key').fill('jk_0000000000000000_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^unauthenticated: /);
    await checkPage(page, 'sign-in');

    // From the keyboard alone: Tab to the field, type, Enter.
    await page.reload();
    await page.getByLabel('API key').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('name')).toBe('apiKey');
    await page.keyboard.type(BOOTSTRAP);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('jack.apiKey'))).toBe(BOOTSTRAP);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await browser.context.cookies()).toEqual([]);
    // Another tab has its own session storage: it asks again.
    const other = await openTab(browser, url);
    await other.page.getByLabel('API key').waitFor();
    await other.page.close();
    expect(problems).toEqual([]);
    await page.close();
  });

  it("calls Jack over gRPC-Web from the page: Enqueue, an admin call, and a refusal with Jack's message", async () => {
    const { page, problems } = await openTab(browser, url);
    await page.getByLabel('API key').waitFor();

    // An admin call: CreateProducer, answered with one message and grpc-status 0 in the trailer frame.
    const created = await grpcWebCall(
      page,
      'jack.AdminService/CreateProducer',
      CreateProducerRequest.encode({ name: 'web', description: 'from the browser' }).finish(),
      BOOTSTRAP,
    );
    expect(created.httpStatus).toBe(200);
    expect(created.contentType).toMatch(/^application\/grpc-web\+proto/);
    expect(created.trailers['grpc-status']).toBe('0');
    expect(created.messages).toHaveLength(1);
    const producer = CreateProducerResponse.decode(created.messages[0] as Buffer).producer;
    expect(producer?.name).toBe('web');
    const producerId = producer?.producerId as string;
    expect(
      (await call(jack.admin, 'getProducer', { producerId }, admin)).producer?.description,
    ).toBe('from the browser');
    await call(
      jack.admin,
      'createJobType',
      { producerId, name: 'ping', queue: Queue.QUEUE_HIGH, maxRetries: 1, description: '' },
      admin,
    );

    // Enqueue: the job id comes back and the ledger has the job.
    const enqueued = await grpcWebCall(
      page,
      'jack.BackgroundJobs/Enqueue',
      EnqueueRequest.encode(
        enqueueRequest({ producerId, jobType: 'ping', payload: Buffer.from('hi') }),
      ).finish(),
      BOOTSTRAP,
    );
    expect(enqueued.trailers['grpc-status']).toBe('0');
    const { jobId } = EnqueueResponse.decode(enqueued.messages[0] as Buffer);
    const job = await call(jack.ledger, 'getJob', { jobId }, admin);
    expect(job).toMatchObject({ jobId, producerId, jobType: 'ping', queue: Queue.QUEUE_HIGH });

    // Refused: Jack's own code and message, as gRPC gives them, in the trailer frame.
    const refusal = await callError(
      call(jack.admin, 'createProducer', { name: '', description: '' }, admin),
    );
    const refused = await grpcWebCall(
      page,
      'jack.AdminService/CreateProducer',
      CreateProducerRequest.encode({ name: '', description: '' }).finish(),
      BOOTSTRAP,
    );
    expect(refused.messages).toEqual([]);
    expect(refused.trailers['grpc-status']).toBe(String(status.INVALID_ARGUMENT));
    expect(decodeURIComponent(refused.trailers['grpc-message'] ?? '')).toBe(refusal.details);

    const badKey = await grpcWebCall(
      page,
      'jack.BackgroundJobs/Enqueue',
      EnqueueRequest.encode(enqueueRequest({ producerId, jobType: 'ping' })).finish(),
      'jk_0000000000000000_wrong',
    );
    expect(badKey.trailers['grpc-status']).toBe(String(status.UNAUTHENTICATED));
    expect(decodeURIComponent(badKey.trailers['grpc-message'] ?? '')).toBe(
      (
        await callError(
          call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType: 'ping' }), {
            authorization: 'Bearer jk_0000000000000000_wrong',
          }),
        )
      ).details,
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  /** A tab signed in with `key`. */
  const signedIn = async (key: string, hash = '') => {
    const tab = await openTab(browser, url);
    await tab.page.getByLabel('API key').fill(key);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    if (hash !== '') await tab.page.goto(`${url}${hash}`);
    return tab;
  };

  it("creates, edits and deletes a producer, and shows Jack's refusal", async () => {
    const { page, problems } = await signedIn(BOOTSTRAP, '#/producers');
    await page.getByRole('heading', { name: 'Producers', level: 1 }).waitFor();
    const form = page.getByRole('region', { name: 'New producer' });

    // Jack's own message for an empty name, as gRPC gives it.
    const refusal = await callError(
      call(jack.admin, 'createProducer', { name: '', description: '' }, admin),
    );
    expect(refusal.code).toBe(status.INVALID_ARGUMENT);
    await form.getByRole('button', { name: 'Create producer' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe(`invalid_argument: ${refusal.details}`);

    await form.getByLabel('Name').fill('shop');
    await form.getByLabel('Description').fill('the shop');
    await form.getByRole('button', { name: 'Create producer' }).click();
    await row(page, 'the shop').waitFor();
    const producerId = (await row(page, 'the shop').locator('code').textContent()) as string;
    await checkPage(page, 'producers');

    await page.getByRole('button', { name: 'Edit shop' }).click();
    const editor = page.getByRole('form', { name: 'Edit producer shop' });
    await editor.getByLabel('Description').fill('the big shop');
    await editor.getByLabel(/Rate limit/).fill('25');
    await editor.getByRole('button', { name: 'Save' }).click();
    await row(page, 'the big shop').waitFor();
    const saved = (await call(jack.admin, 'getProducer', { producerId }, admin)).producer;
    expect(saved).toMatchObject({ name: 'shop', description: 'the big shop', rateLimitRps: 25 });

    await row(page, 'the big shop').getByRole('button', { name: 'Delete' }).click();
    await row(page, 'the big shop').getByRole('button', { name: 'Yes, delete' }).click();
    await row(page, 'the big shop').waitFor({ state: 'detached' });
    expect((await callError(call(jack.admin, 'getProducer', { producerId }, admin))).code).toBe(
      status.NOT_FOUND,
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('creates, edits and deletes a job type', async () => {
    const producerId = (
      await call(jack.admin, 'createProducer', { name: 'media', description: '' }, admin)
    ).producer?.producerId as string;
    const { page, problems } = await signedIn(BOOTSTRAP, '#/job-types');
    await page.getByRole('heading', { name: 'Job types', level: 1 }).waitFor();
    await page.locator('select[name=producer]').selectOption(producerId);
    const form = page.getByRole('region', { name: 'New job type' });
    await form.getByLabel('Name').fill('resize');
    await form.getByLabel('Priority').selectOption('QUEUE_LOW');
    await form.getByRole('button', { name: 'Create job type' }).click();
    await row(page, 'resize').waitFor();
    await checkPage(page, 'job-types');

    await page.getByRole('button', { name: 'Edit resize' }).click();
    const editor = page.getByRole('form', { name: 'Edit job type resize' });
    await editor.getByLabel('Priority').selectOption('QUEUE_HIGH');
    await editor.getByLabel('Max retries').fill('7');
    await editor.getByRole('button', { name: 'Save' }).click();
    await row(page, 'high').waitFor();
    const saved = (await call(jack.admin, 'getJobType', { producerId, name: 'resize' }, admin))
      .jobType;
    expect(saved).toMatchObject({ queue: Queue.QUEUE_HIGH, maxRetries: 7 });

    await row(page, 'resize').getByRole('button', { name: 'Delete' }).click();
    await row(page, 'resize').getByRole('button', { name: 'Yes, delete' }).click();
    await row(page, 'resize').waitFor({ state: 'detached' });
    expect(
      (await callError(call(jack.admin, 'getJobType', { producerId, name: 'resize' }, admin))).code,
    ).toBe(status.NOT_FOUND);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('creates a key (its token shown once, with a copy button), hides admin pages from it, and revokes it', async () => {
    const producerId = (
      await call(jack.admin, 'createProducer', { name: 'mail', description: '' }, admin)
    ).producer?.producerId as string;
    const { page, problems } = await signedIn(BOOTSTRAP, '#/keys');
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    const form = page.getByRole('region', { name: 'New key' });
    await form.locator('select[name=producer]').selectOption(producerId);
    await form.getByLabel('Description').fill('mail sender');
    await form.getByRole('button', { name: 'Create key' }).click();
    const token = (await page.getByTestId('new-token').textContent()) as string;
    expect(token).toMatch(/^jk_/);
    await page.getByRole('button', { name: 'Copy token' }).waitFor();
    await row(page, 'mail sender').waitFor();
    await checkPage(page, 'keys');
    await page.getByRole('button', { name: 'Done, hide the token' }).click();
    expect(await page.getByTestId('new-token').count()).toBe(0);

    // The producer key signs in, but sees no admin page.
    const producerTab = await signedIn(token, '#/jobs');
    await producerTab.page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const nav = producerTab.page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Overview', 'Jobs']);
    await producerTab.page.goto(`${url}#/producers`);
    await producerTab.page.getByRole('heading', { name: 'Not here', level: 1 }).waitFor();
    await producerTab.page.close();

    await row(page, 'mail sender').getByRole('button', { name: 'Revoke' }).click();
    await row(page, 'mail sender').getByRole('button', { name: 'Yes, revoke' }).click();
    await row(page, 'mail sender').waitFor({ state: 'detached' });
    const refused = await callError(
      call(
        jack.admin,
        'listApiKeys',
        { producerId: '', pageSize: 0, pageToken: '' },
        { authorization: `Bearer ${token}` },
      ),
    );
    expect(refused.code).toBe(status.UNAUTHENTICATED);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('lists jobs by filter and follows a job live as a worker reports', async () => {
    const producerId = (
      await call(jack.admin, 'createProducer', { name: 'video', description: '' }, admin)
    ).producer?.producerId as string;
    await call(
      jack.admin,
      'createJobType',
      { producerId, name: 'encode', queue: Queue.QUEUE_IMMEDIATE, maxRetries: 2, description: '' },
      admin,
    );
    const { jobId } = await call(
      jack.jobs,
      'enqueue',
      enqueueRequest({ producerId, jobType: 'encode', payload: Buffer.from('x') }),
      admin,
    );

    const { page, problems } = await signedIn(BOOTSTRAP, '#/jobs');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const find = page.getByRole('region', { name: 'Find jobs' });
    await find.getByLabel('Producer id').fill(producerId);
    await find.getByLabel('State').selectOption('QUEUED');
    await find.getByRole('button', { name: 'Show jobs' }).click();
    await page.getByRole('link', { name: jobId }).waitFor();
    await checkPage(page, 'jobs');
    // Another state: the job is not listed.
    await find.getByLabel('State').selectOption('DEAD');
    await find.getByRole('button', { name: 'Show jobs' }).click();
    await page.getByText('No jobs match.').waitFor();

    await page.goto(`${url}#/jobs/${jobId}`);
    const state = page.getByRole('status').filter({ hasText: 'State:' });
    await expect.poll(() => state.textContent()).toContain('queued — updating live');
    const base = { jobId, producerId, jobType: 'encode', queue: Queue.QUEUE_IMMEDIATE };
    await call(
      jack.ledger,
      'reportJobStatus',
      report({ ...base, state: JobState.JOB_STATE_RUNNING, worker: 'w-7' }),
      admin,
    );
    await page.getByText('Attempt 1 started').waitFor();
    await call(
      jack.ledger,
      'reportJobStatus',
      report({ ...base, state: JobState.JOB_STATE_FAILED, error: 'disk full' }),
      admin,
    );
    await page.getByText('error: disk full').waitFor();
    await call(
      jack.ledger,
      'reportJobStatus',
      report({ ...base, state: JobState.JOB_STATE_RUNNING, attempt: 2 }),
      admin,
    );
    await page.getByText('Attempt 2 started').waitFor();
    await call(
      jack.ledger,
      'reportJobStatus',
      report({ ...base, state: JobState.JOB_STATE_SUCCEEDED, attempt: 2 }),
      admin,
    );
    await expect.poll(() => state.textContent()).toContain('succeeded — final');
    await page.getByText('Finished: succeeded').waitFor();
    await checkPage(page, 'job');

    // The overview counts the job and its pickup in the immediate lane.
    await page.goto(`${url}#/overview`);
    const immediate = page.getByRole('row', { name: /^immediate/ });
    await expect
      .poll(() => immediate.locator('td').allTextContents())
      .toEqual(['1', '5 s', '1', '100.0 %', expect.stringMatching(/^\d+\.\d\d s$/)]);
    await page
      .getByRole('row', { name: /Job ledger/ })
      .getByText('serving')
      .waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await checkPage(page, 'overview');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe.skipIf(!chromiumAvailable())('console in Chromium, AUTH_MODE=off', () => {
  let browser: Browser;
  let jack: RunningJack;
  let url: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [browser, jack] = await Promise.all([launchChromium(), startJack({ HTTP_PORT: '0' })]);
    url = `http://127.0.0.1:${jack.app.httpPort}/`;
  });
  afterAll(async () => {
    await browser?.close();
    await jack?.close();
  });

  it('asks for no key and shows every page', async () => {
    const { page, problems } = await openTab(browser, url);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByText('AUTH_MODE=off: no key needed').waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'Overview',
      'Jobs',
      'Producers',
      'Job types',
      'API keys',
    ]);
    // The overview refreshes by itself: a job enqueued now shows up without a reload.
    const medium = page.getByRole('row', { name: /^medium/ });
    await expect.poll(() => medium.locator('td').first().textContent()).toBe('0');
    const producerId = (await call(jack.admin, 'createProducer', { name: 'p', description: '' }))
      .producer?.producerId as string;
    const jobType = {
      producerId,
      name: 'ping',
      queue: Queue.QUEUE_MEDIUM,
      maxRetries: 0,
      description: '',
    };
    await call(jack.admin, 'createJobType', jobType);
    await call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType: 'ping' }));
    await expect
      .poll(() => medium.locator('td').first().textContent(), { timeout: 5_000 })
      .toBe('1');
    await nav.getByRole('link', { name: 'Producers' }).click();
    await page.getByRole('heading', { name: 'Producers', level: 1 }).waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });
  it('lets a newcomer create a producer, a job type and a key, and enqueue a job, from the keyboard where it counts', async () => {
    const { page, problems } = await openTab(browser, `${url}#/producers`);
    await page.getByRole('heading', { name: 'Producers', level: 1 }).waitFor();

    // The new producer form from the keyboard: type, Tab, type, Tab to the button, Enter.
    const form = page.getByRole('region', { name: 'New producer' });
    await form.getByLabel('Name').focus();
    await page.keyboard.type('newcomer');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('name')).toBe('description');
    await page.keyboard.type('my first producer');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Create producer');
    await page.keyboard.press('Enter');
    await row(page, 'my first producer').waitFor();
    const producerId = (await row(page, 'my first producer')
      .locator('code')
      .textContent()) as string;

    const nav = page.getByRole('navigation', { name: 'Console' });
    await nav.getByRole('link', { name: 'Job types' }).click();
    await page.getByRole('heading', { name: 'Job types', level: 1 }).waitFor();
    await page.locator('select[name=producer]').selectOption(producerId);
    const typeForm = page.getByRole('region', { name: 'New job type' });
    await typeForm.getByLabel('Name').fill('welcome');
    await typeForm.getByRole('button', { name: 'Create job type' }).click();
    await row(page, 'welcome').waitFor();

    await nav.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    const keyForm = page.getByRole('region', { name: 'New key' });
    await keyForm.locator('select[name=producer]').selectOption(producerId);
    await keyForm.getByLabel('Description').fill('newcomer key');
    await keyForm.getByRole('button', { name: 'Create key' }).click();
    expect(await page.getByTestId('new-token').textContent()).toMatch(/^jk_/);

    await nav.getByRole('link', { name: 'Jobs' }).click();
    const enqueue = page.getByRole('region', { name: 'Enqueue a job' });
    await enqueue.getByLabel('Producer id').fill(producerId);
    await enqueue.getByLabel('Job type').fill('welcome');
    await enqueue.getByLabel('Payload (text)').fill('hello');
    await enqueue.getByRole('button', { name: 'Enqueue' }).click();
    const link = enqueue.getByRole('status').getByRole('link');
    await link.waitFor();
    const jobId = (await link.textContent()) as string;
    const job = await call(jack.ledger, 'getJob', { jobId });
    expect(job).toMatchObject({ producerId, jobType: 'welcome', state: JobState.JOB_STATE_QUEUED });
    expect(job.payloadBytes).toBe(Buffer.byteLength('hello'));
    await link.click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'State:' }).textContent())
      .toContain('queued');
    await page.screenshot({ path: join(ARTIFACTS, 'newcomer-job.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('pages producers, job types, API keys and jobs with more items than a page', async () => {
    const owner = (await call(jack.admin, 'createProducer', { name: 'many', description: '' }))
      .producer?.producerId as string;
    for (let i = 0; i < 21; i++) {
      await call(jack.admin, 'createProducer', { name: `extra-${i}`, description: '' });
      const name = `type-${String(i).padStart(2, '0')}`;
      await call(jack.admin, 'createJobType', {
        producerId: owner,
        name,
        queue: Queue.QUEUE_LOW,
        maxRetries: 0,
        description: '',
      });
      await call(jack.admin, 'createApiKey', {
        producerId: owner,
        description: `key ${i}`,
        role: KeyRole.KEY_ROLE_UNSPECIFIED,
      });
    }
    for (let i = 0; i < 26; i++) {
      await call(jack.jobs, 'enqueue', enqueueRequest({ producerId: owner, jobType: 'type-00' }));
    }
    const all = { pageSize: 0, pageToken: '' };
    const producers = (await call(jack.admin, 'listProducers', all)).producers.map(
      (p) => p.producerId,
    );
    const jobTypes = (
      await call(jack.admin, 'listJobTypes', { ...all, producerId: owner })
    ).jobTypes.map((t) => t.name);
    const keys = (await call(jack.admin, 'listApiKeys', { ...all, producerId: '' })).apiKeys.map(
      (k) => k.keyId,
    );
    const jobs = (
      await call(jack.ledger, 'listJobs', {
        producerId: owner,
        jobType: '',
        states: [],
        createdAfter: undefined,
        createdBefore: undefined,
        includeShadow: false,
        pageSize: 1000,
        pageToken: '',
      })
    ).jobs.map((j) => j.jobId);
    expect(jobs).toHaveLength(26);

    const { page, problems } = await openTab(browser, `${url}#/producers`);
    await checkPaged(page, 'tbody tr td:nth-child(2) code', producers, 20);

    await page.goto(`${url}#/job-types`);
    await page.locator('select[name=producer]').selectOption(owner);
    await checkPaged(page, 'tbody tr td:first-child', jobTypes, 20);

    await page.goto(`${url}#/keys`);
    await checkPaged(page, 'tbody tr td:first-child code', keys, 20);
    // Revoking every key of the last page goes back to the first page.
    const pager = page.getByRole('navigation', { name: 'Pages' });
    const keyCells = () => page.locator('tbody tr td:first-child code').allTextContents();
    const lastPage = keys.slice(Math.floor((keys.length - 1) / 20) * 20);
    await pager.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(keyCells).toEqual(lastPage);
    for (const keyId of lastPage) {
      await row(page, keyId).getByRole('button', { name: 'Revoke' }).click();
      await row(page, keyId).getByRole('button', { name: 'Yes, revoke' }).click();
      await row(page, keyId).waitFor({ state: 'detached' });
    }
    await expect.poll(keyCells).toEqual(keys.slice(0, 20));
    await pager.getByText('Page 1').waitFor();

    await page.goto(`${url}#/jobs`);
    const find = page.getByRole('region', { name: 'Find jobs' });
    await find.getByLabel('Producer id').fill(owner);
    await find.getByRole('button', { name: 'Show jobs' }).click();
    await checkPaged(page, 'tbody tr td:first-child a', jobs, 25);
    expect(problems).toEqual([]);
    await page.close();
  });
});
