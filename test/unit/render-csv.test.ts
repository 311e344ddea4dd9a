// CSV is the machine path: it must not change what it prints.
import { describe, expect, it } from 'vitest';
import { csvField, csvLine, renderTable } from '../../src/output/render.js';

describe('CSV output', () => {
  it('keeps every digit of a value (it rounded 0.00479298817650529 to 0.004792988177)', () => {
    const cols = [{ key: 'value' as const }];
    expect(csvLine({ value: 0.00479298817650529 }, cols)).toBe('0.00479298817650529\n');
    expect(csvLine({ value: 1.7976931348623157e308 }, cols)).toBe('1.7976931348623157e+308\n');
    // Tables still round for people.
    expect(renderTable([{ value: 0.00479298817650529 }], cols)).toContain('0.004792988177');
  });

  it('quotes a field with a delimiter, a quote, a line break or spaces at an edge', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(' lead')).toBe('" lead"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });
});
