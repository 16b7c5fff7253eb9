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
  /** null while there is no basis for one: no total yet, nothing done yet, or more done than the total expected. */
  etaSeconds: number | null;
  /** The ETA for people: `1h 5m`, `40s`, or `estimating`. */
  eta: string;
  elapsedSeconds: number;
};

/** 3900 → `1h 5m`, 75 → `1m 15s`, 40 → `40s`: the two largest units, rounded down. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/**
 * Rate since the start and the ETA it gives. A total may be an estimate (the entries of a
 * tree as last walked): once more is done than it says, it is no basis for an ETA any more.
 */
export function progressFacts(
  label: string,
  done: number,
  total: number | undefined,
  elapsedMs: number,
): ProgressFacts {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const known = total !== undefined && total > 0;
  const etaSeconds = known && rate > 0 && done <= total ? Math.round((total - done) / rate) : null;
  return {
    progress: label,
    done,
    total: total ?? null,
    percent: known ? Math.min(100, Math.floor((done / total) * 1000) / 10) : null,
    ratePerSecond: Math.round(rate),
    etaSeconds,
    eta: etaSeconds === null ? 'estimating' : formatEta(etaSeconds),
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

/** What the bar shows beside itself: `?` for a total not known yet, `estimating` for an ETA without a basis. */
export function barFields(facts: ProgressFacts): {
  count: number;
  rate: number;
  etaText: string;
  shownPercent: string;
  shownTotal: string;
} {
  // Not `eta` or `value`: cli-progress fills those tokens itself.
  return {
    count: facts.done,
    rate: facts.ratePerSecond,
    etaText: facts.eta,
    shownPercent: facts.percent === null ? '?%' : `${Math.floor(facts.percent)}%`,
    shownTotal: facts.total === null ? '?' : String(facts.total),
  };
}

function barProgress(label: string, options: ProgressOptions): Progress {
  const unit = options.unit ?? 'entries';
  const now = options.now ?? Date.now;
  const started = now();
  // The numbers are ours (progressFacts), not the bar's: its own ETA would be a guess without a total.
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {shownPercent} | {count}/{shownTotal} ${unit} | {rate}/s | ETA {etaText}`,
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let total: number | undefined;
  let begun = false;
  const payload = (done: number) => barFields(progressFacts(label, done, total, now() - started));
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) total = newTotal;
      // Without a total yet the bar stays empty (the text says '?'): its own tokens would guess.
      const shownTotal = Math.max(1, total ?? 1, done);
      const filled = total === undefined ? 0 : done;
      if (!begun) {
        bar.start(shownTotal, filled, payload(done));
        begun = true;
      } else {
        if (bar.getTotal() !== shownTotal) bar.setTotal(shownTotal);
        bar.update(filled, payload(done));
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
