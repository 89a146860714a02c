/** `jack decode-id ID [--producer P] [--job-type T]`: offline, no server needed. */
import { Command } from 'commander';
import { isJackError } from '../../errors.js';
import { decodeJobId, hashPrefix, isJobOfProducer } from '../../jobid/job-id.js';
import { CliError, type GlobalOptions, print, record } from '../context.js';

export function decodeIdCommand(): Command {
  return new Command('decode-id')
    .description(
      "decode a job id offline: creation time, version, checksum, and whether a producer / job type match the id's hashes",
    )
    .argument('<id>', 'job id (pjob_…)')
    .option('--producer <id>', 'check the id against this producer id')
    .option('--job-type <name>', 'check the id against this job type')
    .action((id: string, opts: { producer?: string; jobType?: string }, cmd: Command) => {
      const options = cmd.optsWithGlobals() as GlobalOptions;
      let decoded: ReturnType<typeof decodeJobId>;
      try {
        decoded = decodeJobId(id);
      } catch (err) {
        if (isJackError(err)) throw new CliError(err.message, 'invalid_argument');
        throw err;
      }
      const producerMatches =
        opts.producer === undefined ? undefined : isJobOfProducer(decoded, opts.producer);
      const jobTypeMatches =
        opts.jobType === undefined
          ? undefined
          : decoded.jobTypeHash.equals(hashPrefix(opts.jobType));
      const doc = {
        jobId: id,
        version: decoded.version,
        createdAt: decoded.createdAt.toISOString(),
        checksum: 'ok',
        producerHash: decoded.producerHash.toString('hex'),
        jobTypeHash: decoded.jobTypeHash.toString('hex'),
        ...(producerMatches === undefined ? {} : { producerMatches }),
        ...(jobTypeMatches === undefined ? {} : { jobTypeMatches }),
      };
      const yesNo = (b: boolean) => (b ? 'yes' : 'NO');
      print(options, doc, () =>
        record([
          ['job_id', id],
          ['version', String(decoded.version)],
          ['created_at', doc.createdAt],
          ['checksum', 'ok'],
          ['producer_hash', doc.producerHash],
          ['job_type_hash', doc.jobTypeHash],
          ...(producerMatches === undefined
            ? []
            : [[`producer ${opts.producer}`, yesNo(producerMatches)] as [string, string]]),
          ...(jobTypeMatches === undefined
            ? []
            : [[`job_type ${opts.jobType}`, yesNo(jobTypeMatches)] as [string, string]]),
        ]),
      );
      if (producerMatches === false || jobTypeMatches === false) {
        throw new CliError('the id does not match the given producer / job type', 'mismatch');
      }
    });
}
