// Progress of long work (restore, verify, gc, rebuild, a first publication): a bar with
// rate and ETA on a terminal (cli-progress), and a JSON line every few seconds otherwise,
// so logs and CI show the same facts. The arithmetic is pure (progressFacts).
import cliProgress from 'cli-progress';

export type ProgressFacts = {
  progress: string;
  done: number;
  total: number | null;
  percent: number | null;
  ratePerSecond: number;
  etaSeconds: number | null;
  elapsedSeconds: number;
};

/** Rate since the start and the ETA it gives; no ETA without a total or while nothing moved. */
export function progressFacts(
  label: string,
  done: number,
  total: number | undefined,
  elapsedMs: number,
): ProgressFacts {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const known = total !== undefined && total > 0;
  return {
    progress: label,
    done,
    total: total ?? null,
    percent: known ? Math.min(100, Math.floor((done / total) * 1000) / 10) : null,
    ratePerSecond: Math.round(rate),
    etaSeconds: known && rate > 0 ? Math.max(0, Math.round((total - done) / rate)) : null,
    elapsedSeconds: Math.round(elapsedMs / 1000),
  };
}

export interface Progress {
  /** `total` may be learnt (or grow) as the work goes. */
  update(done: number, total?: number): void;
  stop(): void;
}

export type ProgressOptions = {
  /** A terminal gets a bar; anything else JSON lines. Default: whether stderr is a TTY. */
  tty?: boolean;
  write?: (text: string) => void;
  now?: () => number;
  /** Between two JSON lines. */
  everyMs?: number;
  unit?: string;
};

function jsonProgress(label: string, options: ProgressOptions): Progress {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const now = options.now ?? Date.now;
  const every = options.everyMs ?? 5000;
  const started = now();
  let last = started;
  let state = { done: 0, total: undefined as number | undefined };
  const emit = () => write(`${JSON.stringify(progressFacts(label, state.done, state.total, now() - started))}\n`);
  return {
    update(done, total) {
      state = { done, total: total ?? state.total };
      if (now() - last >= every) {
        last = now();
        emit();
      }
    },
    stop() {
      emit();
    },
  };
}

function barProgress(label: string, options: ProgressOptions): Progress {
  const unit = options.unit ?? 'entries';
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      etaBuffer: 50,
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let total: number | undefined;
  let begun = false;
  const rate = (done: number) => progressFacts(label, done, total, Date.now() - started).ratePerSecond;
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) total = newTotal;
      // Without a total yet, the bar's total follows the count (no ETA until it is known).
      const shown = total ?? Math.max(1, done);
      if (!begun) {
        bar.start(shown, done, { rate: rate(done) });
        begun = true;
      } else {
        if (bar.getTotal() !== shown) bar.setTotal(shown);
        bar.update(done, { rate: rate(done) });
      }
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}

export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const tty = options.tty ?? process.stderr.isTTY === true;
  return tty ? barProgress(label, options) : jsonProgress(label, options);
}
