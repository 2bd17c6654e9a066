#!/usr/bin/env node
// Serves the demo: web/ at /, the built JS package (build/omega-js) at /omega/.
// With isolation on (the default) every response carries COOP/COEP, so the page is
// cross-origin isolated and loads the threaded build; --no-isolation serves the same files
// without them, and the page falls back to the single-threaded build.
//
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--no-isolation]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Maps a URL path to a file under one of the roots, or null (never escapes a root). */
function resolveFile(urlPath, webRoot, packageDir) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  let root = webRoot;
  let rel = decoded;
  if (decoded === '/omega' || decoded.startsWith('/omega/')) {
    root = packageDir;
    rel = decoded.slice('/omega'.length);
  }
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const file = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/**
 * Starts the server. Resolves to { url, port, close() }.
 * options: port (0 = any free port), host, isolate (COOP/COEP), webRoot, packageDir.
 */
export async function startServer({
  port = 8080,
  host = '127.0.0.1',
  isolate = true,
  webRoot = path.join(repoRoot, 'web'),
  packageDir = path.join(repoRoot, 'build', 'omega-js'),
} = {}) {
  webRoot = path.resolve(webRoot);
  packageDir = path.resolve(packageDir);
  const server = createServer(async (req, res) => {
    const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const file = resolveFile(pathname, webRoot, packageDir);
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      headers['Content-Type'] = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
      headers['Content-Length'] = body.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actualPort = server.address().port;
  return {
    url: `http://${host}:${actualPort}/`,
    port: actualPort,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
  };
  const port = Number(opt('--port', process.env.PORT ?? '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer in 0..65535, got ${opt('--port', process.env.PORT)}`);
    process.exit(2);
  }
  const isolate = !args.includes('--no-isolation');
  const server = await startServer({ port, host: opt('--host', '127.0.0.1'), isolate });
  console.log(`Ultra Omega demo: ${server.url}  (${isolate ? 'cross-origin isolated: threaded build' :
    'no COOP/COEP: single-threaded build'}; Ctrl-C to stop)`);
}
