/**
 * Bundles the console (console/ → dist/console/) with esbuild: one script and
 * one stylesheet, content-hashed so Jack can let browsers keep them, and an
 * index.html that names them. Everything the page needs is in these files: no
 * CDN, nothing fetched at run time.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'console');

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: [join(root, 'console', 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.endsWith('.js'));
const style = outputs.find((f) => f.endsWith('.css'));
if (script === undefined || style === undefined)
  throw new Error('esbuild wrote no script or stylesheet');
await copyFile(join(root, 'console', 'favicon.svg'), join(out, 'favicon.svg'));
const template = await readFile(join(root, 'console', 'index.html'), 'utf8');
await writeFile(
  join(out, 'index.html'),
  template.replace('%STYLE%', `/assets/${style}`).replace('%SCRIPT%', `/assets/${script}`),
);
console.log(`console built: dist/console (${script}, ${style})`);
