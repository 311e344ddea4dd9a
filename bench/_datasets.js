// The four public sample data sets as the README's ingest lines load them (paths relative to the data
// folder), and their devices: shared by the benches that run on them.
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
