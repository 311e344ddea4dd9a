// Parses an SVG strictly (fast-xml-parser's validator, then its parser) into a small tree to query.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface SvgNode {
  tag: string;
  attrs: Record<string, string>;
  children: SvgNode[];
  /** The text inside, entities decoded, of this node and its descendants. */
  text: string;
}

type Raw = Record<string, unknown> & { ':@'?: Record<string, string> };

function convert(raw: Raw): SvgNode | null {
  const tag = Object.keys(raw).find((k) => k !== ':@') as string;
  if (tag === '#text') return null;
  const kids = (raw[tag] as Raw[]).map((k) => ('#text' in k ? { text: String(k['#text']) } : convert(k)));
  const children = kids.filter((k): k is SvgNode => k !== null && 'tag' in k);
  const text = kids.map((k) => (k === null ? '' : k.text)).join('');
  return { tag, attrs: raw[':@'] ?? {}, children, text };
}

/** Throws unless `svg` is well-formed XML with one <svg> root. */
export function parseSvg(svg: string): SvgNode {
  const valid = XMLValidator.validate(svg);
  if (valid !== true) throw new Error(`not well-formed: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
  });
  const roots = (parser.parse(svg) as Raw[]).map(convert).filter((n): n is SvgNode => n !== null);
  if (roots.length !== 1 || roots[0]!.tag !== 'svg') throw new Error('expected one <svg> root');
  return roots[0]!;
}

/** Every descendant (depth first) that `match` accepts. */
export function findAll(node: SvgNode, match: (n: SvgNode) => boolean): SvgNode[] {
  const out: SvgNode[] = [];
  const walk = (n: SvgNode) => {
    if (match(n)) out.push(n);
    n.children.forEach(walk);
  };
  node.children.forEach(walk);
  return out;
}

/** Elements by tag and class (one of the class attribute's words). */
export const byClass = (root: SvgNode, tag: string, cls: string) =>
  findAll(root, (n) => n.tag === tag && (n.attrs.class ?? '').split(' ').includes(cls));

/** The x range of the plot, from the x axis line: [left, right] in SVG units. */
export function plotX(root: SvgNode): [number, number] {
  const axis = byClass(root, 'g', 'x')[0] as SvgNode;
  const line = axis.children.find((n) => n.tag === 'line' && n.attrs.class === 'axis-line') as SvgNode;
  return [Number(line.attrs.x1), Number(line.attrs.x2)];
}
