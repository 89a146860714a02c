/**
 * The Markdown report of a `make bench` run (run.mjs collects, this renders):
 * one block of rows per scenario, `n/a (reason)` for a scenario that could
 * not run, memory rows for scenarios marked `rss`, then start-up.
 */
import { cpus, totalmem } from 'node:os';

const median = (values) => {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** settings: the run's knobs (see run.mjs) and whether perf counts instructions. */
export function renderReport(results, settings) {
  const { twoCpus, ROUNDS, WINDOWS, WINDOW_SECONDS, WARMUP_SECONDS, QUICK, STARTS, perf } =
    settings;
  // The targets are ratios to the bare baseline; against the required-work
  // server (BENCH_BASELINE=required) the "baseline" column is that server.
  const bare = (settings.baseline ?? 'bare') === 'bare';
  const ratio = (jack, baseline) =>
    jack === undefined || baseline === undefined ? 'n/a' : (jack / baseline).toFixed(2);
  const fmt = (value, digits = 0) => (value === undefined ? 'n/a' : value.toFixed(digits));
  const mib = (bytes) => (bytes === undefined ? undefined : bytes / 2 ** 20);
  const verdict = (value, limit, higherIsBetter) => {
    if (!bare) return 'n/a (required-work reference)';
    if (value === undefined) return 'n/a';
    return (higherIsBetter ? value >= limit : value <= limit) ? 'met' : 'NOT met';
  };
  const lines = [];
  lines.push(`# Jack benchmark, ${results.started}`);
  lines.push('');
  lines.push(
    `Node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
      `${twoCpus ? 'servers on CPU 0, generator on CPU 1 (taskset)' : 'no pinning'}; ` +
      `${ROUNDS} round(s) per scenario, each with a FRESH baseline and a FRESH Jack, warmed up ${WARMUP_SECONDS} s each, then ${WINDOWS} windows of ${WINDOW_SECONDS} s each, alternating A B, B A, …; ` +
      `the ratio is the median over the pairs of neighbouring windows (interquartile range in brackets), the other figures medians over rounds${QUICK ? '; QUICK MODE: figures mean nothing' : ''}.`,
  );
  if (!bare) {
    lines.push('');
    lines.push(
      'BENCH_BASELINE=required: the "baseline" column is bench/required-work-server.mjs, the bare server plus only the per-call work the SPEC asks for; Jack / it is the cost of Jack\'s design. The issue targets are ratios to the bare baseline and do not apply.',
    );
  }
  lines.push('');
  lines.push(
    '| scenario | figure | baseline | Jack | Jack / baseline (IQR of window pairs) | target |',
  );
  lines.push('|---|---|---:|---:|---:|---|');
  for (const s of results.scenarios) {
    const bulk = (s.jobsPerCall ?? 1) > 1;
    const figure = bulk ? 'jobs/s' : 'calls/s';
    if (s.failed !== undefined) {
      lines.push(`| ${s.name} | ${figure} | n/a (${s.failed.replaceAll('|', '/')}) | | | |`);
      continue;
    }
    const b = s.baseline;
    const j = s.jack;
    const key = bulk ? 'jobsPerSecond' : 'callsPerSecond';
    const range = `${s.pairRatioIqr[0].toFixed(2)}–${s.pairRatioIqr[1].toFixed(2)}, ${s.pairs} pairs`;
    const target =
      s.target?.ratio === undefined
        ? ''
        : `≥ ${s.target.ratio.toFixed(2)}: ${verdict(s.pairRatio, s.target.ratio, true)}`;
    lines.push(
      `| ${s.name} | ${figure} (${s.generator}) | ${fmt(b[key])} | ${fmt(j[key])} | ${s.pairRatio.toFixed(2)} (${range}) | ${target} |`,
    );
    lines.push(
      `| | p50 ms | ${fmt(b.p50Ms, 2)} | ${fmt(j.p50Ms, 2)} | ${ratio(j.p50Ms, b.p50Ms)} | |`,
    );
    const p99Target =
      s.target?.p99 === undefined
        ? ''
        : `≤ ${s.target.p99}: ${verdict(j.p99Ms / b.p99Ms, s.target.p99, false)}`;
    lines.push(
      `| | p99 ms | ${fmt(b.p99Ms, 2)} | ${fmt(j.p99Ms, 2)} | ${ratio(j.p99Ms, b.p99Ms)} | ${p99Target} |`,
    );
    lines.push(
      `| | server CPU µs / job | ${fmt(b.serverCpuMicrosPerJob, 1)} | ${fmt(j.serverCpuMicrosPerJob, 1)} | ${ratio(j.serverCpuMicrosPerJob, b.serverCpuMicrosPerJob)} | |`,
    );
    if (perf) {
      lines.push(
        `| | instructions / job | ${fmt(b.instructionsPerJob)} | ${fmt(j.instructionsPerJob)} | ${ratio(j.instructionsPerJob, b.instructionsPerJob)} | |`,
      );
    }
    lines.push(
      `| | server CPU % / generator CPU % | ${fmt(b.serverCpuPercent)} / ${fmt(b.generatorCpuPercent)} | ${fmt(j.serverCpuPercent)} / ${fmt(j.generatorCpuPercent)} | | |`,
    );
    if (s.rss) {
      lines.push(
        `| | peak RSS under load, MiB | ${fmt(mib(b.peakRss), 1)} | ${fmt(mib(j.peakRss), 1)} | ${ratio(j.peakRss, b.peakRss)} | ≤ 1.2: ${verdict(j.peakRss / b.peakRss, 1.2, false)} |`,
      );
      lines.push(
        `| | RSS before load, MiB | ${fmt(mib(b.idleRss), 1)} | ${fmt(mib(j.idleRss), 1)} | ${ratio(j.idleRss, b.idleRss)} | |`,
      );
      const part = (side, pickPart) => median(side.memory.map(pickPart));
      const parts = [
        ['V8 heap committed', (m) => m.heapTotal],
        ['  of it new space', (m) => m.spaces?.new_space],
        ['  of it old space', (m) => m.spaces?.old_space],
        ['  of it code space', (m) => m.spaces?.code_space],
        ['V8 heap used', (m) => m.heapUsed],
        ['external (buffers)', (m) => m.external],
        ['RSS outside the V8 heap', (m) => m.rss - m.heapTotal],
      ];
      for (const [label, pickPart] of parts) {
        const bv = part(b, pickPart);
        const jv = part(j, pickPart);
        lines.push(
          `| | ${label} at end of load, MiB | ${fmt(mib(bv), 1)} | ${fmt(mib(jv), 1)} | ${ratio(jv, bv)} | |`,
        );
      }
    }
  }
  if (results.startMs !== undefined) {
    lines.push(
      `| start-up (median of ${STARTS}) | ms to SERVING (Jack) / first answer (baseline) | ${fmt(results.startMs.baseline)} | ${fmt(results.startMs.jack)} | ${ratio(results.startMs.jack, results.startMs.baseline)} | ≤ 1.2: ${verdict(results.startMs.jack / results.startMs.baseline, 1.2, false)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
