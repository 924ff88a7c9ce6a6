/**
 * Builds the browser classroom (`npm run build`, run by scripts/setup.sh and before `npm start` and
 * `npm test`): esbuild bundles web-client/src into web-client/dist, which the edge serves.
 * - `assets/app-HASH.js` and `assets/app-HASH.css`: the page, named by content so the edge can let
 *   browsers keep them forever (`immutable`); index.html (served `no-cache`) names the current ones.
 * - `classroom-client.js`: the protocol client alone as an ES module under a stable name, for pages
 *   that script the classroom themselves (tests, a school's portal).
 * `--watch` rebuilds on change.
 */
import { build, context, type BuildOptions, type Metafile } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';

const root = import.meta.dirname;
const dist = join(root, 'dist');

const common: BuildOptions = {
  bundle: true, format: 'esm', target: ['chrome110', 'firefox115', 'safari16'], sourcemap: 'linked', minify: true,
  jsx: 'automatic', jsxImportSource: 'preact', logLevel: 'warning', metafile: true, legalComments: 'linked',
};

const app: BuildOptions = {
  ...common, entryPoints: { app: join(root, 'src/main.tsx') }, outdir: join(dist, 'assets'), entryNames: '[name]-[hash]', assetNames: '[name]-[hash]',
};

const protocolClient: BuildOptions = {
  ...common, entryPoints: { 'classroom-client': join(root, 'src/session/classroom-client.ts') }, outdir: dist, entryNames: '[name]',
};

/** The built files of `metafile` that end in `extension`, as paths below dist. */
function outputs(metafile: Metafile, extension: string): string[] {
  return Object.keys(metafile.outputs).filter((file) => file.endsWith(extension)).map((file) => relative(dist, join(process.cwd(), file)));
}

async function writeIndex(metafile: Metafile): Promise<void> {
  const [script] = outputs(metafile, '.js');
  const [style] = outputs(metafile, '.css');
  if (!script || !style) throw new Error(`the build made no ${script ? 'stylesheet' : 'script'}`);
  const template = await readFile(join(root, 'index.html'), 'utf8');
  const html = template.replace('%APP_CSS%', `/${style}`).replace('%APP_JS%', `/${script}`);
  await writeFile(join(dist, 'index.html'), html);
}

async function buildOnce(): Promise<void> {
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  const [built] = await Promise.all([build(app), build(protocolClient)]);
  await writeIndex(built.metafile!);
  console.log(`web-client: built ${outputs(built.metafile!, '.js').map((f) => basename(f)).join(', ')} into ${relative(process.cwd(), dist) || dist}`);
}

async function watch(): Promise<void> {
  await buildOnce();
  const onEnd = { name: 'index', setup: (b: { onEnd(cb: (result: { metafile?: Metafile }) => void): void }) => b.onEnd((result) => { if (result.metafile) void writeIndex(result.metafile); }) };
  const contexts = await Promise.all([context({ ...app, plugins: [onEnd] }), context(protocolClient)]);
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('web-client: watching for changes');
}

if (process.argv.includes('--watch')) await watch();
else await buildOnce();
