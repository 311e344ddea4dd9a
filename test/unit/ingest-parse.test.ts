import { parse as csvParse } from 'csv-parse/sync';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  csvRecords,
  csvRecordStream,
  endsInsideQuotes,
  ndjsonRecords,
  sniffDelimiter,
  splitCsvRecord,
  type InputRecord,
} from '../../src/ingest/parse.js';
import { formatFromName } from '../../src/ingest/formats/index.js';

async function collect(stream: Readable): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const chunk of stream) out.push(...(chunk as InputRecord[]));
  return out;
}

describe('ingest parsers', () => {
  it('splits CSV records exactly as csv-parse does', () => {
    const lines = [
      'a,b,c',
      '"quoted, with comma",2,"x"',
      '"say ""hi""",,""',
      ',,',
      '1,"multi\nline",3',
      'no quotes here;at all',
      '"2,6";"1360";x',
    ];
    let compared = 0;
    for (const line of lines) {
      for (const d of [',', ';']) {
        let want: string[] | undefined;
        try {
          want = (csvParse(line, { delimiter: d, relax_column_count: true }) as string[][])[0];
        } catch {
          continue; // not valid CSV with this delimiter
        }
        expect(splitCsvRecord(line, d), `${line} with ${d}`).toEqual(want);
        compared++;
      }
    }
    expect(compared).toBe(10);
    expect(() => splitCsvRecord('"open', ',')).toThrow(/unclosed/);
  });

  it('knows when a record goes on to the next line', () => {
    expect(endsInsideQuotes('1,"multi', ',')).toBe(true);
    expect(endsInsideQuotes('1,"done"', ',')).toBe(false);
    expect(endsInsideQuotes('1,in"side', ',')).toBe(false);
    expect(endsInsideQuotes('1,"a ""q"" b', ',')).toBe(true);
  });

  it('sniffs the delimiter from the first line and the format from the name', () => {
    expect(sniffDelimiter('\uFEFFDate;Time;CO(GT);T;;\r\n10/03/2004;18.00.00;2,6;13,6;;')).toBe(';');
    expect(sniffDelimiter('"No","year","a;b"\n')).toBe(',');
    expect(sniffDelimiter('a\tb\tc\n')).toBe('\t');
    expect(formatFromName('x/readings.ndjson.gz')).toBe('ndjson');
    expect(formatFromName('x/readings.jsonl')).toBe('ndjson');
    expect(formatFromName('datatraining.txt')).toBe('csv');
  });

  it('reads CSV bytes with a BOM, CRLF, blank lines and a quoted field over two lines, keeping line numbers', async () => {
    const text = '\uFEFFtime,v\r\n1,"a\r\nb"\r\n\r\n2,c\r\n3,"broken';
    const recs = await collect(await csvRecords(Readable.from([Buffer.from(text)])));
    expect(recs.map((r) => [r.line, r.fields ?? r.error])).toEqual([
      [1, ['time', 'v']],
      [2, ['1', 'a\nb']],
      [5, ['2', 'c']],
      [6, 'unclosed quoted field'],
    ]);
  });

  it('a stray opening quote rejects only its own line; the rows after it are read', async () => {
    const text = 'time,v\n1,"stray\n2,b\n3,c\n';
    const recs = await collect(await csvRecords(Readable.from([Buffer.from(text)])));
    expect(recs.map((r) => [r.line, r.fields ?? r.error])).toEqual([
      [1, ['time', 'v']],
      [2, 'unclosed quoted field'],
      [3, ['2', 'b']],
      [4, ['3', 'c']],
    ]);
    // Past 1,000 lines the quote is taken as stray without waiting for the end of the input.
    const rows = Array.from({ length: 1500 }, (_, i) => `${i},x`);
    const stream = csvRecordStream(',');
    const seen: InputRecord[] = [];
    stream.on('data', (chunk: InputRecord[]) => seen.push(...chunk));
    stream.write('1,"stray\n' + rows.join('\n') + '\n');
    await new Promise((r) => setImmediate(r));
    expect(seen[0]).toMatchObject({ line: 1, error: 'unclosed quoted field' });
    expect(seen.length).toBeGreaterThanOrEqual(1000);
    stream.end();
  });

  it('reads an unclosed quote over 30,000 lines in linear time', async () => {
    const text = 'time,v\n1,"open\n' + 'x,y\n'.repeat(30_000) + '9,z"\n';
    const started = Date.now();
    const recs = await collect(await csvRecords(Readable.from([Buffer.from(text)])));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(recs.filter((r) => r.error).map((r) => r.line)).toEqual([2]);
    expect(recs.at(-1)).toMatchObject({ line: 30_003, raw: '9,z"' });
  });

  it('rejects a line longer than 1 MiB instead of holding it', async () => {
    const long = 'x'.repeat(1_200_000);
    const chunks = ['a,b\n1,', long.slice(0, 600_000), long.slice(600_000), ',2\n3,4\n'].map((c) =>
      Buffer.from(c),
    );
    const recs = await collect(await csvRecords(Readable.from(chunks), ','));
    expect(recs.map((r) => [r.line, r.fields ?? r.error])).toEqual([
      [1, ['a', 'b']],
      [2, 'line longer than 1048576 characters'],
      [3, ['3', '4']],
    ]);
  });

  it('keeps line numbers in NDJSON across chunk boundaries and marks invalid UTF-8', async () => {
    const chunks = [
      Buffer.from('{"a":1}\n\n{"b":'),
      Buffer.from([0x32, 0x7d, 0x0a, 0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    ];
    const recs = await collect(Readable.from(chunks).pipe(ndjsonRecords()));
    expect(recs.map((r) => [r.line, r.raw])).toEqual([
      [1, '{"a":1}'],
      [3, '{"b":2}'],
      [4, '{"\uFFFD":1}'],
    ]);
  });

  it('a file with CR-only line endings is read line by line, not as one header line', async () => {
    const text = 'time,device_id,metric,value\r2024-03-01T10:00:00Z,d,t,1\r2024-03-01T10:01:00Z,d,t,"2"\r';
    // Split at every byte, so the CR that decides the line ending is also seen alone at a chunk end.
    const bytes = Buffer.from(text);
    const oneByOne = Array.from(bytes, (b) => Buffer.from([b]));
    for (const chunks of [[bytes], oneByOne]) {
      const recs = await collect(await csvRecords(Readable.from(chunks)));
      expect(recs.map((r) => [r.line, r.fields ?? r.error])).toEqual([
        [1, ['time', 'device_id', 'metric', 'value']],
        [2, ['2024-03-01T10:00:00Z', 'd', 't', '1']],
        [3, ['2024-03-01T10:01:00Z', 'd', 't', '2']],
      ]);
    }
    const nd = await collect(
      Readable.from([Buffer.from('{"a":1}\r{"b":2}\r\r{"c":3}')]).pipe(ndjsonRecords()),
    );
    expect(nd.map((r) => [r.line, r.raw])).toEqual([
      [1, '{"a":1}'],
      [2, '{"b":2}'],
      [4, '{"c":3}'],
    ]);
    // CRLF stays CRLF, even when the CR ends one chunk and the LF starts the next.
    const crlf = await collect(
      await csvRecords(Readable.from([Buffer.from('a,b\r'), Buffer.from('\n1,2\r\n')])),
    );
    expect(crlf.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('a line that is not valid UTF-8 keeps its bytes (split anywhere across chunks); valid lines carry none', async () => {
    const lines = [
      Buffer.from('time,v\r\n'),
      Buffer.from([0x31, 0x2c, 0xff, 0xfe, 0x0d, 0x0a]),
      Buffer.from('2,é\n'),
      Buffer.from([0x33, 0x2c, 0xe2, 0x82, 0x0a]),
      Buffer.from('4,ok'),
    ];
    const all = Buffer.concat(lines);
    for (const size of [1, 2, 3, 5, all.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size));
      const recs = await collect(await csvRecords(Readable.from(chunks), ','));
      expect(
        recs.map((r) => [r.line, r.raw, r.bytes?.toString('hex')]),
        `chunks of ${size}`,
      ).toEqual([
        [1, 'time,v', undefined],
        [2, '1,\uFFFD\uFFFD', '312cfffe'],
        [3, '2,é', undefined],
        [4, '3,\uFFFD', '332ce282'],
        [5, '4,ok', undefined],
      ]);
    }
    const nd = await collect(
      Readable.from([Buffer.from([0x7b, 0x22, 0xff]), Buffer.from('":1}\n{"ok":1}\n')]).pipe(ndjsonRecords()),
    );
    expect(nd.map((r) => [r.raw, r.bytes?.toString('base64')])).toEqual([
      ['{"\uFFFD":1}', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64')],
      ['{"ok":1}', undefined],
    ]);
  });
});
