import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The pieces of the pack-and-install test (pack-install.pack.ts) that make
 * its scratch folders: a copy of the repository as a fresh clone has it,
 * and an empty project that installs the packed tarball offline.
 */

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, unknown>;
  bin: Record<string, string>;
  engines: Record<string, string>;
};
const repositoryLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dependencies?: Record<string, string>; dev?: boolean; devOptional?: boolean; peer?: boolean }>;
};
export const NAME = pkg.name;
/** The entry points with code, as listed in package.json (`.`, `./testing`, …). */
export const CODE_ENTRIES = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath]) => (subpath === '.' ? NAME : `${NAME}/${subpath.slice(2)}`));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child processes: without what `npm run` sets for this
 * repository (npm_package_*, npm_lifecycle_*, npm_config_local_prefix…),
 * which would point the scratch project's npm back at the repository. The
 * cache location is kept: the offline install reads that cache.
 */
const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => (!/^npm_/i.test(key) || key.toLowerCase() === 'npm_config_cache') && key !== 'NODE_PATH' && key !== 'NODE_OPTIONS',
  ),
);

export function run(command: string, args: string[], cwd: string, timeout = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: childEnv, encoding: 'utf8', timeout, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Fails with the command's own output, which says what went wrong. */
export function expectSuccess(result: Run, what: string): void {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
}

/**
 * The repository as `git clone` would give it: tracked files plus new ones
 * not ignored (so an uncommitted change is tested too), without dist/ or
 * any other ignored output. node_modules is linked, not installed: the
 * build needs the dev dependencies, and installing them is `npm ci`'s job.
 */
export async function freshCheckout(into: string): Promise<void> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  expectSuccess(listed, 'git ls-files');
  for (const file of new Set(listed.stdout.split('\0').filter(Boolean))) {
    mkdirSync(dirname(join(into, file)), { recursive: true });
    try {
      copyFileSync(join(root, file), join(into, file));
    } catch (error) {
      // A tracked file deleted in the working tree is not part of the checkout.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(into, 'node_modules'), 'dir');
}

/**
 * The scratch project's package.json and package-lock.json: the tarball, and
 * the package's dependencies (and theirs) as this repository's lockfile
 * pins them, so `npm ci --offline` resolves nothing.
 */
export function scratchProject(dir: string, tarball: string): void {
  const spec = `file:${tarball}`;
  const manifest = { name: 'scratch-consumer', private: true, dependencies: { [NAME]: spec } };
  const packages: Record<string, unknown> = {
    '': manifest,
    // What npm itself writes for a package: `npm ci` links the bin from this entry, not from the tarball.
    [`node_modules/${NAME}`]: {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
    },
  };
  const pending = Object.keys(pkg.dependencies);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const key = `node_modules/${name}`;
    if (key in packages) continue;
    const locked = repositoryLock.packages[key];
    // Only hoisted entries are looked up: a nested one would need npm's own tree logic.
    if (!locked) throw new Error(`package-lock.json has no ${key}: run npm install in the repository`);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = locked;
    packages[key] = entry;
    pending.push(...Object.keys(locked.dependencies ?? {}));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: manifest.name, lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}
