// Progress output while the benchmark runs: stage headers, plain lines, and a ticker for
// long waits (rewritten in place on a terminal, one line every few seconds otherwise).
import { nowMs } from './clock.ts';

const tty = process.stdout.isTTY === true;
let tickerShown = false;

function clearTicker(): void {
  if (tickerShown) {
    process.stdout.write('\r\x1b[K');
    tickerShown = false;
  }
}

export function stage(title: string): void {
  clearTicker();
  process.stdout.write(`\n== ${title}\n`);
}

export function info(line: string): void {
  clearTicker();
  process.stdout.write(`  ${line}\n`);
}

export function warn(line: string): void {
  clearTicker();
  process.stdout.write(`  WARNING: ${line}\n`);
}

/** Calls `render` every `everyMs` on a terminal (every 5 s otherwise) and shows its line until stopped. */
export function ticker(render: () => string, everyMs = 500): { stop(): void } {
  const interval = tty ? everyMs : 5000;
  const started = nowMs();
  const timer = setInterval(() => {
    const line = `  … ${render()} (${((nowMs() - started) / 1000).toFixed(1)} s)`;
    if (tty) {
      process.stdout.write(`\r\x1b[K${line}`);
      tickerShown = true;
    } else {
      process.stdout.write(`${line}\n`);
    }
  }, interval);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      clearTicker();
    },
  };
}

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}
