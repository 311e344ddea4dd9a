// Preloaded by bench/startup.js (node --import): at exit, the process's peak RSS (KiB) and CPU time (user +
// system, ms) go to fd 3 as `rss cpu`. CPU time is what the work costs even when other work shares the cores.
import fs from 'node:fs';

process.on('exit', () => {
  const usage = process.resourceUsage();
  try {
    fs.writeSync(3, `${usage.maxRSS} ${(usage.userCPUTime + usage.systemCPUTime) / 1000}`);
  } catch {
    // fd 3 not open: run without the benchmark
  }
});
