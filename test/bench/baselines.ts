// The reference tools, timed on the same tree in the same run: rsync into an empty
// directory, rsync between two identical copies, and a bare find walk.
import { mkdirSync } from 'node:fs';
import { info } from './progress.ts';
import { run } from './tools.ts';

async function timed(what: string, command: string, args: string[]): Promise<number> {
  info(`$ ${command} ${args.join(' ')}`);
  const result = await run(command, args);
  if (result.code !== 0)
    throw new Error(`${what}: ${command} exited with ${result.code}: ${result.stderr.trim().slice(0, 500)}`);
  return result.ms;
}

/** `rsync -a SRC/ DST/` into an empty (new) directory; milliseconds. */
export async function rsyncInitial(source: string, target: string): Promise<number> {
  mkdirSync(target, { recursive: true });
  return timed('rsync into an empty directory', 'rsync', ['-a', `${source}/`, `${target}/`]);
}

/** `rsync -a --delete SRC/ DST/` between identical copies (a no-change pass); milliseconds. */
export async function rsyncNoChange(source: string, target: string): Promise<number> {
  return timed('rsync between identical copies', 'rsync', ['-a', '--delete', `${source}/`, `${target}/`]);
}

/** `find ROOT -type f`, output counted (not kept); milliseconds and the number of files. */
export async function findWalk(root: string): Promise<{ ms: number; files: number }> {
  info(`$ find ${root} -type f`);
  let files = 0;
  const result = await run('find', [root, '-type', 'f'], {
    stdoutTo: (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) files++;
    },
  });
  if (result.code !== 0) throw new Error(`find exited with ${result.code}: ${result.stderr.trim().slice(0, 500)}`);
  return { ms: result.ms, files };
}
