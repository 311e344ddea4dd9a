// Small formatting helpers shared by commands.

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatRate(rows: number, seconds: number): string {
  return seconds > 0 ? `${Math.round(rows / seconds).toLocaleString('en-US')} rows/s` : '-';
}
