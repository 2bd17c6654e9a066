// Starts the real omega-gateway (apps/gateway) for a test, on a free port, serving
// web/ and the JS package. Its binary: $OMEGA_GATEWAY, else the native-release or
// native-debug build in this tree. findGateway() returns null when none is built.
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function findGateway() {
  const candidates = [process.env.OMEGA_GATEWAY,
    path.join(repoRoot, 'build', 'native-release', 'apps', 'gateway', 'omega-gateway'),
    path.join(repoRoot, 'build', 'native-debug', 'apps', 'gateway', 'omega-gateway')];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

/** Resolves to { url (http), wsUrl (/ovp), port, metrics(), close() }. */
export async function startOmegaGateway(binary, { packageDir = path.join(repoRoot, 'build', 'omega-js'), args = [] } = {}) {
  const child = spawn(binary, ['--port', '0', '--web-root', path.join(repoRoot, 'web'), '--package-dir', packageDir, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`omega-gateway did not start: ${stderr}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/omega-gateway: listening on http:\/\/[\d.]+:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`omega-gateway exited with ${code}: ${stderr}`));
    });
  });
  child.stdout.resume();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ovp`,
    port,
    /** The gateway's /metrics text. */
    metrics() {
      return new Promise((resolve, reject) => {
        get(`${url}/metrics`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => { body += d; });
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
