// Stops a service and folds its peak memory and CPU time into the results.
import type { BenchContext } from './context.ts';
import type { Service } from './services.ts';
import { info, warn } from './progress.ts';

export async function stopService(ctx: BenchContext, role: 'producer' | 'applier', service: Service): Promise<void> {
  const p = service.process;
  const crashed = p.exitReason();
  const rssBefore = p.rss.peakMb;
  const result = await p.stop();
  const peak = Math.max(rssBefore, p.rss.peakMb);
  const cpu = p.rss.cpuSeconds;
  if (role === 'producer') {
    ctx.results.producerRssMb = Math.max(ctx.results.producerRssMb ?? 0, peak);
    ctx.results.producerCpuS = (ctx.results.producerCpuS ?? 0) + cpu;
  } else {
    ctx.results.applierRssMb = Math.max(ctx.results.applierRssMb ?? 0, peak);
    ctx.results.applierCpuS = (ctx.results.applierCpuS ?? 0) + cpu;
  }
  const how = result.killed
    ? 'did not exit within 30 s of SIGTERM: killed'
    : result.signal !== null
      ? `ended by ${result.signal}`
      : `exit ${result.code}`;
  info(
    `${p.name} stopped in ${(result.stopMs / 1000).toFixed(2)} s (${how}); ` +
      `peak RSS ${peak.toFixed(1)} MB, CPU ${cpu.toFixed(1)} s`,
  );
  if (crashed !== undefined || result.killed || result.code !== 0) {
    const note =
      crashed !== undefined
        ? `${p.name} had exited on its own before the end (${how}); log ${p.logPath}`
        : `${p.name} did not stop cleanly on SIGTERM (${how}); log ${p.logPath}`;
    warn(`${note}\n${p.logTail(10)}`);
    ctx.notes.push(note);
  }
}
