/**
 * A server's `/metrics` read the way a scraper would, through an independent parser (the npm
 * package parse-prometheus-text-format, a port of the Prometheus Python client's parser): the text
 * must come as Prometheus text format, parse into typed and documented families, one parsed sample
 * per sample line, every value a number. Tests then read values by name and labels.
 */
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** NaN and infinities as Prometheus reads values (Go's ParseFloat: any case; prom-client writes `Nan`). */
const SPECIAL_VALUE = /^[+-]?(inf|infinity|nan)$/i;

function isNumber(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '' && (SPECIAL_VALUE.test(value) || Number.isFinite(Number(value)));
}

/** The metric name of each sample line of the text. */
function sampleLineNames(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).map((line) => /^[^{\s]+/.exec(line)![0]);
}

/** What a scraper would object to in this exposition (empty when nothing). */
export function expositionProblems(text: string, families: ParsedFamily[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const family of families) {
    if (names.has(family.name)) problems.push(`${family.name}: family appears twice`);
    names.add(family.name);
    if (!METRIC_NAME.test(family.name)) problems.push(`${family.name}: not a metric name`);
    if (family.type === 'UNTYPED') problems.push(`${family.name}: no TYPE line`);
    if (!family.help) problems.push(`${family.name}: no HELP text`);
    for (const sample of family.metrics) {
      if (sample.timestamp_ms !== undefined) problems.push(`${family.name}: unexpected timestamp or trailing text ${sample.timestamp_ms}`);
      for (const label of Object.keys(sample.labels ?? {})) if (!LABEL_NAME.test(label)) problems.push(`${family.name}: bad label name ${label}`);
      const values = [sample.value, sample.count, sample.sum, ...Object.values(sample.buckets ?? {}), ...Object.values(sample.quantiles ?? {})].filter((v) => v !== undefined);
      if (values.length === 0 || !values.every(isNumber)) problems.push(`${family.name}: value(s) ${JSON.stringify(values)} not numbers`);
    }
  }
  // Every sample line belongs to a family, and a counter or gauge has one parsed sample per line. (The
  // parser folds a histogram's label sets into one, so histograms are checked for numbers only.)
  const lineNames = sampleLineNames(text);
  for (const name of new Set(lineNames)) {
    const family = families.find((f) => f.name === name || (['HISTOGRAM', 'SUMMARY'].includes(f.type) && /^_(bucket|sum|count)$/.test(name.slice(f.name.length)) && name.startsWith(f.name)));
    if (!family) problems.push(`${name}: sample lines outside any family`);
  }
  for (const family of families) {
    if (family.type !== 'COUNTER' && family.type !== 'GAUGE') continue;
    const lines = lineNames.filter((name) => name === family.name).length;
    if (lines !== family.metrics.length) problems.push(`${family.name}: ${lines} sample lines, ${family.metrics.length} samples parsed`);
  }
  return problems;
}

export class Scrape {
  readonly text: string;
  readonly families: ReadonlyMap<string, ParsedFamily>;

  constructor(text: string) {
    const families = parsePrometheusTextFormat(text);
    const problems = expositionProblems(text, families);
    if (problems.length > 0) throw new Error(`bad /metrics exposition:\n${problems.join('\n')}`);
    this.text = text;
    this.families = new Map(families.map((family) => [family.name, family]));
  }

  /** The family's type (COUNTER, GAUGE, ...); throws when the family is missing. */
  type(name: string): string {
    return this.#family(name).type;
  }

  /** The family's samples with their labels. */
  samples(name: string): Array<{ labels: Record<string, string>; value: number }> {
    return this.#family(name).metrics.map((sample) => ({ labels: sample.labels ?? {}, value: Number(sample.value) }));
  }

  /** The sum of the family's samples whose labels include `labels` (0 when none); throws when the family is missing. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name)
      .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
      .reduce((sum, sample) => sum + sample.value, 0);
  }

  #family(name: string): ParsedFamily {
    const family = this.families.get(name);
    if (!family) throw new Error(`no metric family ${name} in /metrics`);
    return family;
  }
}

/** GET /metrics on 127.0.0.1:`port`, checked and parsed. */
export async function scrapeMetrics(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`/metrics content type ${type}`);
  return new Scrape(await response.text());
}
