import { InvalidArgumentError, Option, type Command } from 'commander';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { createExporter, parseTargetList, parseTargetSpec, type ExporterTarget, type ScrapeReport } from '../../exporter/index.js';
import { displayUrl } from '../../common/redact.js';
import { parsePositiveInt } from '../options.js';
import { defaultDataRoot, questDbStatus } from '../../questdb/index.js';
import { createWriter } from '@tradewatch/sdk/storage';

interface ExporterFlags {
  target?: ExporterTarget[];
  targets?: string;
  questdbUrl?: string;
  questdbDataRoot?: string;
  questdbDiskPath?: string;
  intervalMs?: number;
  timeoutMs?: number;
  once?: boolean;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

function collectTarget(value: string, previous: ExporterTarget[] | undefined): ExporterTarget[] {
  try {
    return [...(previous ?? []), parseTargetSpec(value)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerExporterCommand(program: Command): void {
  program
    .command('exporter')
    .description('scrape Prometheus /metrics endpoints into tw_metrics (default: the local QuestDB\'s own metrics)')
    .option('--target <name=url>', 'an endpoint to scrape, service name = url (repeatable)', collectTarget)
    .addOption(
      new Option('--targets <list>', 'comma-separated name=url targets (used when no --target is given)').env('TRADEWATCH_EXPORTER_TARGETS').hideHelp(),
    )
    .addOption(new Option('--questdb-url <url>', 'QuestDB HTTP URL to write to (default: the local managed QuestDB)').env('TRADEWATCH_QUESTDB_URL'))
    .addOption(new Option('--questdb-data-root <dir>', 'data root of the local managed QuestDB').env('TRADEWATCH_QUESTDB_DATA_ROOT'))
    .addOption(
      new Option('--questdb-disk-path <dir>', "a directory on QuestDB's data filesystem: its free and total bytes are sampled with each scrape of the questdb target (default: the local managed QuestDB's data root)").env(
        'TRADEWATCH_EXPORTER_QUESTDB_DISK_PATH',
      ),
    )
    .addOption(new Option('--interval-ms <n>', 'scrape interval').default(15_000).argParser(parsePositiveInt('--interval-ms')))
    .addOption(new Option('--timeout-ms <n>', 'per-scrape timeout (default: min(10000, interval))').argParser(parsePositiveInt('--timeout-ms')))
    .option('--once', 'scrape every target once, print the result and exit (exit 1 when one is down)')
    .action(async (flags: ExporterFlags) => {
      const local = await localQuestDb(flags);
      const targets = withQuestDbDisk(flags.target ?? (flags.targets ? parseTargetList(flags.targets) : undefined) ?? localTargets(local), flags.questdbDiskPath ?? local?.dataRoot);
      const questdbUrl = flags.questdbUrl ?? local?.httpUrl;
      if (!questdbUrl) {
        throw new TradewatchError(ErrorCodes.INVALID_CONFIG, 'exporter: no QuestDB to write to: give --questdb-url (or TRADEWATCH_QUESTDB_URL), or start one with `tradewatch questdb start`');
      }
      // The command owns the writer, so that its accounting decides the exit status of --once.
      const writer = createWriter({ url: questdbUrl, service: 'tradewatch-exporter' });
      const exporter = createExporter({
        targets,
        writer,
        intervalMs: flags.intervalMs,
        timeoutMs: flags.timeoutMs,
        onScrape: flags.once ? undefined : printChanges(),
      });

      if (flags.once) {
        const reports = await exporter.scrapeOnce();
        await exporter.stop();
        await writer.close();
        reports.forEach(printReport);
        if (reports.some((r) => !r.up)) process.exitCode = 1;
        // A scrape is only done once QuestDB stored it: a refused write (401, say) loses the rows of a memory-only writer.
        const w = writer.stats();
        if (w.rowsWritten < w.rowsAccepted) {
          process.stderr.write(
            `tradewatch: QuestDB at ${displayUrl(questdbUrl)} stored ${w.rowsWritten} of ${w.rowsAccepted} rows ` +
              `(${w.rowsRejected} refused, ${w.rowsDropped} lost): ${w.lastError ?? 'no error recorded'}\n`,
          );
          process.exitCode = 1;
        }
        return;
      }
      out(`scraping ${targets.length} target(s) every ${flags.intervalMs} ms into ${displayUrl(questdbUrl)}; Ctrl-C stops`);
      exporter.start();
      await new Promise<void>((resolve) => {
        const onSignal = () => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          out('stopping (flushing rows)…');
          void exporter.stop().then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      await writer.close();
      const s = exporter.stats();
      out(`stopped: ${s.scrapes} scrapes, ${s.failures} failed, ${s.rowsWritten} rows`);
    });
}

interface LocalQuestDb {
  httpUrl?: string;
  minHttpUrl?: string;
  dataRoot: string;
}

/**
 * QuestDB's free space is in neither its /metrics nor its SQL: the exporter samples the filesystem of its data when
 * it can see it, alongside the `questdb` target's metrics (same service and instance, so panels pair them).
 */
function withQuestDbDisk(targets: ExporterTarget[], diskPath: string | undefined): ExporterTarget[] {
  if (diskPath === undefined || diskPath === '') return targets;
  if (!targets.some((t) => t.service === 'questdb')) {
    throw new TradewatchError(
      ErrorCodes.INVALID_CONFIG,
      `exporter: --questdb-disk-path (TRADEWATCH_EXPORTER_QUESTDB_DISK_PATH) is ${JSON.stringify(diskPath)} but no target is named questdb: give --target questdb=http://host:9003/metrics`,
      { diskPath },
    );
  }
  return targets.map((t) => (t.service === 'questdb' ? { ...t, diskPath } : t));
}

/** The managed QuestDB on the data root, when it runs: the default target and the default destination. */
async function localQuestDb(flags: ExporterFlags): Promise<LocalQuestDb | undefined> {
  const needTarget = !flags.target && !flags.targets;
  if (!needTarget && flags.questdbUrl) return undefined;
  const status = await questDbStatus(flags.questdbDataRoot ?? defaultDataRoot());
  return status.state === 'running' ? { httpUrl: status.httpUrl, minHttpUrl: status.minHttpUrl, dataRoot: status.dataRoot } : undefined;
}

function localTargets(local: LocalQuestDb | undefined): ExporterTarget[] {
  if (!local?.minHttpUrl) {
    throw new TradewatchError(
      ErrorCodes.INVALID_CONFIG,
      'exporter: no targets: give --target name=url (or TRADEWATCH_EXPORTER_TARGETS), or start the local QuestDB (`tradewatch questdb start`) to scrape its metrics',
    );
  }
  return [{ url: `${local.minHttpUrl}/metrics`, service: 'questdb' }];
}

/** Long-running output stays quiet: the first scrape of each target, then only when it goes down or comes back. */
function printChanges(): (r: ScrapeReport) => void {
  const lastUp = new Map<string, boolean>();
  return (r) => {
    if (lastUp.get(r.url) !== r.up) printReport(r);
    lastUp.set(r.url, r.up);
  };
}

function printReport(r: ScrapeReport): void {
  const head = `${r.up ? 'up  ' : 'DOWN'} ${r.service} ${r.url}`;
  if (!r.up) {
    out(`${head}: ${r.error ?? 'failed'}`);
    return;
  }
  const skipped = r.nonFinite + r.invalidLines + r.rejected;
  out(`${head}: ${r.samples} samples in ${Math.round(r.durationMs)} ms${skipped ? ` (${skipped} skipped)` : ''}`);
  if (r.disk) out(`     disk: ${formatGiB(r.disk.freeBytes)} free of ${formatGiB(r.disk.totalBytes)}`);
  if (r.diskError) out(`     disk: not sampled (${r.diskError})`);
}

function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
