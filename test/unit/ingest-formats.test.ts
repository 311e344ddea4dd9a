// Walks the input-format registry: every entry is complete (name, help, detector, splitter, reader), is
// offered by --input-format and --help, and detects and reads at least one committed fixture.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import {
  formatByName,
  formatChoice,
  formatNames,
  inputFormats,
  type InputFormat,
} from '../../src/ingest/formats/index.js';
import { Validator, type MapSink } from '../../src/ingest/mapping.js';
import type { InputRecord } from '../../src/ingest/parse.js';
import { decodeInput } from '../../src/ingest/source.js';
import { mapOptions } from '../helpers/ingest.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');

function fixtureFiles(dir = FIXTURES): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? fixtureFiles(path.join(dir, e.name))
        : e.name === 'README.md'
          ? []
          : [path.join(dir, e.name)],
    );
}

/** Detects a file's format as ingest does and reads it with default options. */
async function readFixture(file: string) {
  const choice = formatChoice(file);
  const input = await decodeInput(fs.createReadStream(file), () => undefined);
  const records = await choice.base.records(input, {});
  const counts = { readings: 0, rejects: 0, nulls: 0 };
  const sink: MapSink = {
    reading: () => counts.readings++,
    event: () => counts.readings++,
    reject: (_r, _d, n) => (counts.rejects += n),
    nulls: (n) => (counts.nulls += n),
  };
  const v = new Validator(mapOptions());
  const ctx = { mapping: v.opts, validator: v, describe: () => undefined, timeSource: () => undefined };
  let format: InputFormat | undefined;
  let usable = true;
  let reader;
  for await (const chunk of records as AsyncIterable<InputRecord[]>) {
    for (const rec of chunk) {
      format ??= choice.choose(rec);
      reader ??= format?.reader(ctx);
      try {
        reader?.read(rec, sink);
      } catch {
        usable = false; // needs options (a constant --device, say): detected, but not read with defaults
      }
    }
  }
  return { format: format?.name, usable, ...counts };
}

describe('input format registry', () => {
  it('every entry has a unique name, help text, a detector, a splitter and a reader', () => {
    expect(inputFormats.length).toBeGreaterThanOrEqual(3);
    expect(new Set(formatNames).size).toBe(formatNames.length);
    expect(inputFormats.filter((f) => f.isDefault)).toHaveLength(1);
    for (const f of inputFormats) {
      expect(f.name, f.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(f.help.length, f.name).toBeGreaterThan(10);
      expect(typeof f.detect, f.name).toBe('function');
      expect(typeof f.records, f.name).toBe('function');
      expect(typeof f.reader, f.name).toBe('function');
      if (f.refines) expect(formatNames, f.name).toContain(f.refines);
      expect(f.fileNames !== undefined || f.isDefault || f.refines !== undefined, f.name).toBe(true);
      expect(formatByName(f.name)).toBe(f);
    }
    expect(() => formatByName('xml')).toThrow(/invalid --input-format 'xml'/);
  });

  it('--input-format and the --help of ingest list every format', () => {
    const ingest = buildProgram().commands.find((c) => c.name() === 'ingest')!;
    let help = '';
    ingest.configureOutput({ writeOut: (text) => (help += text) });
    ingest.outputHelp();
    const optionLine = ingest.options.find((o) => o.long === '--input-format')!.description;
    for (const f of inputFormats) {
      expect(optionLine).toContain(f.name);
      expect(help).toContain(`${f.name}  `);
      expect(help.replace(/\s+/g, ' ')).toContain(f.help);
    }
  });

  it('every entry detects and reads at least one committed fixture', async () => {
    const seen = new Map<string, Array<Awaited<ReturnType<typeof readFixture>> & { file: string }>>();
    for (const file of fixtureFiles()) {
      const r = await readFixture(file);
      if (r.format) seen.set(r.format, [...(seen.get(r.format) ?? []), { ...r, file }]);
    }
    for (const f of inputFormats) {
      const read = (seen.get(f.name) ?? []).filter((r) => r.usable && r.readings > 0 && r.rejects === 0);
      expect(
        read.map((r) => path.basename(r.file)),
        f.name,
      ).not.toEqual([]);
    }
  });
});
