/**
 * The overview: jobs accepted per second by priority and pickup latency per
 * lane against its promise, charted from /console/overview.json (Jack's own
 * counters, polled), and the health of the server, the backend, the config
 * store, the ledger and the scheduler.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ErrorBox, Section } from './ui.tsx';

const PRIORITIES = ['immediate', 'high', 'medium', 'low'] as const;
type Priority = (typeof PRIORITIES)[number];
const COLORS: Record<Priority, string> = {
  immediate: '#b3261e',
  high: '#8a5a00',
  medium: '#1d5fa8',
  low: '#3d6b35',
};
const POLL_MS = 2_000;
/** Points kept per series: three minutes at one poll every two seconds. */
const POINTS = 90;

interface Pickup {
  count: number;
  withinPromise: number;
  sumSeconds: number;
  promiseSeconds: number;
}
interface Overview {
  enqueued: Record<Priority, number>;
  pickup: Record<Priority, Pickup>;
  ledger: { bufferedRecords: number; writeFailures: number; droppedRecords: number };
  scheduler: { waitingJobs: number };
  health: Record<string, string>;
  components: { backend: string; scheduler: string; ledger: string };
}

interface Series {
  time: number[];
  rate: Record<Priority, (number | null)[]>;
  latency: Record<Priority, (number | null)[]>;
}

const emptySeries = (): Series => ({
  time: [],
  rate: { immediate: [], high: [], medium: [], low: [] },
  latency: { immediate: [], high: [], medium: [], low: [] },
});

/** Adds one poll to the series: rates and mean pickup latency over the interval since the last one. */
function extend(series: Series, previous: Overview | undefined, now: Overview, at: number): Series {
  const last = series.time[series.time.length - 1];
  const seconds = last === undefined ? 0 : at - last;
  const keep = <T,>(values: T[], value: T) => [...values, value].slice(-POINTS);
  const next: Series = {
    time: keep(series.time, at),
    rate: { ...series.rate },
    latency: { ...series.latency },
  };
  for (const p of PRIORITIES) {
    const rate =
      previous === undefined || seconds <= 0
        ? null
        : Math.max(0, now.enqueued[p] - previous.enqueued[p]) / seconds;
    const picked = previous === undefined ? 0 : now.pickup[p].count - previous.pickup[p].count;
    const latency =
      previous === undefined || picked <= 0
        ? null
        : (now.pickup[p].sumSeconds - previous.pickup[p].sumSeconds) / picked;
    next.rate[p] = keep(series.rate[p], rate);
    next.latency[p] = keep(series.latency[p], latency);
  }
  return next;
}

function Chart(props: {
  title: string;
  description: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  yLabel: string;
  log?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (box.current === null) return;
    const width = Math.max(300, box.current.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 220,
        legend: { show: false },
        scales: {
          // The last three minutes, even before that many polls came in.
          x: { time: true, range: (_u, _min, max) => [max - (POINTS * POLL_MS) / 1000, max] },
          y: props.log ? { distr: 3, log: 10 } : { range: [0, null] },
        },
        axes: [
          // Clock time in the browser's own format (the window is three minutes).
          {
            values: (_u, splits) =>
              splits.map((t) =>
                new Date(t * 1000).toLocaleTimeString([], {
                  hour: '2-digit',
                  minute: '2-digit',
                  second: '2-digit',
                }),
              ),
          },
          { label: props.yLabel },
        ],
        series: [{}, ...props.series],
      },
      props.data,
      box.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={props.description} />
    </figure>
  );
}

function Legend() {
  return (
    <ul class="legend" aria-label="Lanes">
      {PRIORITIES.map((p) => (
        <li key={p}>
          <span class={`swatch ${p}`} aria-hidden="true" /> {p}
        </li>
      ))}
    </ul>
  );
}

const healthName: Record<string, string> = {
  '': 'Server',
  'jack.BackgroundJobs': 'Enqueue (queue backend and scheduler)',
  'jack.AdminService': 'Admin (config store)',
  'jack.Jobs': 'Job ledger',
};

export function OverviewPage() {
  const [overview, setOverview] = useState<Overview>();
  const [series, setSeries] = useState<Series>(emptySeries);
  const [error, setError] = useState<unknown>();
  const previous = useRef<Overview | undefined>(undefined);

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const res = await fetch('/console/overview.json', { credentials: 'omit' });
        if (!res.ok) throw new Error(`the overview answered HTTP ${res.status}`);
        const now = (await res.json()) as Overview;
        if (stopped) return;
        setSeries((s) => extend(s, previous.current, now, Date.now() / 1000));
        previous.current = now;
        setOverview(now);
        setError(undefined);
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const rateData: uPlot.AlignedData = [
    series.time,
    ...PRIORITIES.map((p) => series.rate[p]),
  ] as uPlot.AlignedData;
  const promise = (p: Priority) =>
    series.time.map(() => overview?.pickup[p].promiseSeconds ?? null);
  const latencyData: uPlot.AlignedData = [
    series.time,
    ...PRIORITIES.map((p) => series.latency[p]),
    ...PRIORITIES.map(promise),
  ] as uPlot.AlignedData;

  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={error} />
      <div class="charts">
        <Chart
          title="Jobs enqueued per second, by priority"
          description="Line chart of jobs accepted per second for each priority over the last three minutes; the table below has the totals."
          yLabel="jobs/s"
          data={rateData}
          series={PRIORITIES.map((p) => ({
            label: p,
            stroke: COLORS[p],
            width: 2,
            spanGaps: true,
          }))}
        />
        <Chart
          title="Pickup latency (mean, seconds) against each lane's promise (dashed)"
          description="Line chart, log scale, of the mean seconds from queued to a worker's first report per priority, with each lane's promise as a dashed line; the table below has the share within promise."
          yLabel="seconds"
          log
          data={latencyData}
          series={[
            ...PRIORITIES.map((p) => ({ label: p, stroke: COLORS[p], width: 2 })),
            ...PRIORITIES.map((p) => ({
              label: `${p} promise`,
              stroke: COLORS[p],
              width: 1,
              dash: [6, 4],
            })),
          ]}
        />
      </div>
      <Legend />
      {overview ? (
        <>
          <Section title="Lanes">
            <table>
              <thead>
                <tr>
                  <th scope="col">Priority</th>
                  <th scope="col">Enqueued since start</th>
                  <th scope="col">Promise</th>
                  <th scope="col">Picked up</th>
                  <th scope="col">Within promise</th>
                  <th scope="col">Mean pickup</th>
                </tr>
              </thead>
              <tbody>
                {PRIORITIES.map((p) => {
                  const s = overview.pickup[p];
                  return (
                    <tr key={p}>
                      <th scope="row">{p}</th>
                      <td>{overview.enqueued[p]}</td>
                      <td>{s.promiseSeconds} s</td>
                      <td>{s.count}</td>
                      <td>
                        {s.count === 0
                          ? '—'
                          : `${((100 * s.withinPromise) / s.count).toFixed(1)} %`}
                      </td>
                      <td>{s.count === 0 ? '—' : `${(s.sumSeconds / s.count).toFixed(2)} s`}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </Section>
          <Section title="Health">
            <table>
              <thead>
                <tr>
                  <th scope="col">Part</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(overview.health).map(([service, status]) => (
                  <tr key={service}>
                    <th scope="row">{healthName[service] ?? service}</th>
                    <td>
                      <span class={status === 'SERVING' ? 'ok' : 'bad'}>
                        {status.toLowerCase()}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <dl class="record">
              <dt>Queue backend</dt>
              <dd>{overview.components.backend}</dd>
              <dt>Scheduler</dt>
              <dd>
                {overview.components.scheduler}
                {overview.components.scheduler === 'ledger'
                  ? ` (${overview.scheduler.waitingJobs} future jobs waiting)`
                  : ''}
              </dd>
              <dt>Job ledger</dt>
              <dd>
                {overview.components.ledger} — {overview.ledger.bufferedRecords} records waiting,{' '}
                {overview.ledger.writeFailures} write failures, {overview.ledger.droppedRecords}{' '}
                dropped
              </dd>
            </dl>
          </Section>
        </>
      ) : null}
    </>
  );
}
