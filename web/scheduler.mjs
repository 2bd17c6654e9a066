// The demo page's scheduler section: an omega.createScheduler() ticked from the event loop
// (MessageChannel), fed periodic and one-shot tasks, showing tick overhead, lateness
// percentiles and tasks per second live. Writes its numbers into demo (window.omegaDemo).
import { fmtNs, renderCells } from './format.mjs';

const RENDER_MS = 100;

export function startSchedulerDemo(omega, demo) {
  const $ = (id) => document.getElementById(id);
  const scheduler = omega.createScheduler({ tickRateNs: 1000, maxTasksPerTick: 1000, windowSize: 100 });
  // A control loop, a heavier periodic job, and bursts of one-shot timers of every priority.
  scheduler.schedule('noop', 0, { periodNs: 1_000_000, priority: 'critical' });
  scheduler.schedule('spin', 2_000, { periodNs: 2_500_000, priority: 'high' });
  const priorities = ['critical', 'high', 'normal', 'low'];
  let burst = 0;
  const feed = () => {
    for (let i = 0; i < 100; i++) {
      scheduler.schedule('noop', 0, { delayNs: Math.floor(Math.random() * 5e6), priority: priorities[(burst + i) % 4] });
    }
    burst += 1;
  };
  feed();
  scheduler.start();

  const rate = { lastExecuted: 0, lastTicks: 0, lastNs: omega.nowNs(), tasks: 0, ticks: 0 };
  const render = () => {
    feed();
    const m = scheduler.metrics();
    const now = omega.nowNs();
    if (now - rate.lastNs >= 5e8) {
      rate.tasks = ((m.executed - rate.lastExecuted) * 1e9) / (now - rate.lastNs);
      rate.ticks = ((m.ticks - rate.lastTicks) * 1e9) / (now - rate.lastNs);
      rate.lastExecuted = m.executed;
      rate.lastTicks = m.ticks;
      rate.lastNs = now;
    }
    renderCells($('sched-tick'), [['ticks/s', Math.round(rate.ticks).toLocaleString()], ['tick avg', fmtNs(m.avgTickNs)],
      ['p50', fmtNs(m.p50TickNs)], ['p95', fmtNs(m.p95TickNs)], ['p99', fmtNs(m.p99TickNs)],
      ['max', fmtNs(m.maxTickNs)]]);
    renderCells($('sched-late'), [['executed', m.executed.toLocaleString()], ['tasks/s', Math.round(rate.tasks).toLocaleString()],
      ['late p50', fmtNs(m.lateness.p50)], ['p90', fmtNs(m.lateness.p90)], ['p99', fmtNs(m.lateness.p99)],
      ['p99.9', fmtNs(m.lateness.p999)], ['max', fmtNs(m.lateness.max)]]);
    renderCells($('sched-state'), [['pending', m.pending.toLocaleString()], ['carried over', m.carriedOver.toLocaleString()],
      ['temporal overlap', m.temporalOverlap.toFixed(3)], ['strange loop', m.strangeLoopState.toFixed(4)],
      ['memory', `${(m.memoryBytes / 1024).toFixed(0)} KiB`]]);
    Object.assign(demo, {
      schedulerTicks: m.ticks,
      schedulerExecuted: m.executed,
      schedulerAvgTickNs: m.avgTickNs,
      schedulerLatenessP99: m.lateness.p99,
    });
  };
  render();
  setInterval(render, RENDER_MS);
  return scheduler;
}
