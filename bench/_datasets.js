// The four public sample data sets as the README's ingest lines load them (paths relative to the data
// folder), and their devices: shared by the benches that run on them.
import { spawnSync } from 'node:child_process';

export const sets = [
  {
    name: 'UCI Air Quality (hourly, 1 device)',
    ingest: [
      'uci_air_quality/AirQualityUCI.csv',
      '--device',
      'uci-air-quality',
      '--time',
      'Date,Time',
      '--time-format',
      'DD/MM/YYYY HH.mm.ss',
      '--tz',
      'Etc/GMT-1',
      '--null',
      '-200',
    ],
    devices: ['uci-air-quality'],
  },
  {
    name: 'Beijing PRSA (hourly, 2 stations)',
    ingest: ['beijing_air_quality/PRSA_Data_*.csv', '--tz', 'Asia/Shanghai', '--exclude', 'No'],
    devices: ['Aotizhongxin', 'Changping'],
  },
  {
    name: 'AMPds2 electricity (1 min)',
    ingest: ['ampds2_electricity/Electricity_B1E-11.csv', '--device', 'ampds2-house'],
    devices: ['ampds2-house'],
  },
  {
    name: 'UCI Occupancy (1 min)',
    ingest: ['uci_occupancy/datatraining.txt', '--device', 'uci-office'],
    devices: ['uci-office'],
  },
];

/**
 * Runs iotctl (`bin`) on `db` with the data folder as its working directory, as the README's ingest
 * lines expect; returns stdout. Exit 4 (some rows rejected) counts as success.
 */
export function iotctlIn(bin, data) {
  return (db, cmdArgs) => {
    const r = spawnSync(process.execPath, [bin, ...cmdArgs, '--db', db], {
      encoding: 'utf8',
      cwd: data,
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0 && r.status !== 4)
      throw new Error(`iotctl ${cmdArgs.join(' ')} exited ${r.status}\n${r.stderr}`);
    return r.stdout;
  };
}
