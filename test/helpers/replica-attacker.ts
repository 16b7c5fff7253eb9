// A hostile process acting on a replica while its applier works, for the confinement tests
// (test/integration/applier-hostile-replica.int.test.ts). Run as its own process:
//
//   node --import tsx test/helpers/replica-attacker.ts <mode> <replica> <outside> [seed]
//
// Modes:
//   plant-temps  watch for temp/staging names; plant symlinks to <outside>/victim at every
//                name a predictable scheme would use next, and swap temp files seen for such
//                symlinks (the race between creating a temp file and using it)
//   random       at random moments: swap directories for symlinks to <outside>, files for
//                hard links to outside files, plant symlinks at temp-like names, put
//                swapped directories back (seeded: the seed is printed)
//
// Runs until SIGTERM; prints {started}, then {acts} every 10 actions, then what it did on exit.
import { linkSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from './workload.ts';

const [mode, replica, outside, seedText] = process.argv.slice(2) as [string, string, string, string | undefined];
if (mode === undefined || replica === undefined || outside === undefined) {
  process.stderr.write('usage: replica-attacker.ts <plant-temps|random> <replica> <outside> [seed]\n');
  process.exit(2);
}
const counts: Record<string, number> = {};
let acts = 0;
const did = (what: string) => {
  counts[what] = (counts[what] ?? 0) + 1;
  // Progress for the test, which waits for the attacker to act between its events.
  if (++acts % 10 === 0) process.stdout.write(`${JSON.stringify({ acts })}\n`);
};
const victim = join(outside, 'victim');

// Seeded, so a failing run can be replayed.
const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
const random = prng(seed);
const pick = <T>(list: T[]): T | undefined =>
  list.length === 0 ? undefined : list[Math.floor(random() * list.length)];
const attempt = (what: string, fn: () => void) => {
  try {
    fn();
    did(what);
  } catch {
    did(`${what}-failed`);
  }
};

/** Entries of the replica (directories and files), walked without following symlinks. */
function entries(): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  const walk = (rel: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(join(replica, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      try {
        const stat = lstatSync(join(replica, path));
        if (stat.isDirectory()) {
          dirs.push(path);
          if (depth < 6) walk(path, depth + 1);
        } else if (stat.isFile()) files.push(path);
      } catch {
        // gone meanwhile
      }
    }
  };
  walk('', 0);
  return { dirs, files };
}

const TEMP = /^(.*mirrorlog-)([0-9a-z]{8})([0-9a-z]+)\.tmp$/;

function plantTemps(): void {
  const { dirs } = entries();
  for (const dir of ['', ...dirs]) {
    let names: string[];
    try {
      names = readdirSync(join(replica, dir));
    } catch {
      continue;
    }
    for (const name of names) {
      const match = TEMP.exec(name);
      if (match === null) continue;
      const [, prefix, token, counter] = match as unknown as [string, string, string, string];
      // What a counter-based scheme would use next, for this and for staging names.
      const next = parseInt(counter, 36);
      for (let i = 1; i <= 8; i++) {
        for (const stem of [prefix, '.staging.mirrorlog-']) {
          attempt('plant-next', () =>
            symlinkSync(victim, join(replica, dir, `${stem}${token}${(next + i).toString(36)}.tmp`)),
          );
        }
      }
      // Swap the temp file seen for a symlink (its creator may still be using the name).
      attempt('swap-temp', () => {
        unlinkSync(join(replica, dir, name));
        symlinkSync(victim, join(replica, dir, name));
      });
    }
  }
}

function randomAct(): void {
  const { dirs, files } = entries();
  const roll = random();
  if (roll < 0.3) {
    const dir = pick(dirs.filter((d) => !d.includes('.old')));
    if (dir !== undefined) {
      attempt('dir-to-symlink', () => {
        renameSync(join(replica, dir), join(replica, `${dir}.old${Math.floor(random() * 1e6)}`));
        symlinkSync(random() < 0.5 ? outside : join(outside, 'sub'), join(replica, dir));
      });
    }
  } else if (roll < 0.5) {
    const file = pick(files);
    const outsideFile = pick(['victim', 'sub/inner', 'other']);
    if (file !== undefined && outsideFile !== undefined) {
      attempt('file-to-hardlink', () => {
        unlinkSync(join(replica, file));
        linkSync(join(outside, outsideFile), join(replica, file));
      });
    }
  } else if (roll < 0.65) {
    const dir = pick(['', ...dirs]);
    if (dir !== undefined) {
      attempt('plant-temp-symlink', () =>
        symlinkSync(
          victim,
          join(
            replica,
            dir,
            `.x.mirrorlog-${Math.floor(random() * 36 ** 8)
              .toString(36)
              .padStart(8, '0')}0.tmp`,
          ),
        ),
      );
    }
  } else if (roll < 0.8) {
    // Put a swapped directory back, so later events find a real one again.
    const old = pick(dirs.filter((d) => /\.old\d+$/.test(d)));
    if (old !== undefined) {
      attempt('dir-back', () => {
        const original = old.replace(/\.old\d+$/, '');
        rmSync(join(replica, original), { force: true });
        renameSync(join(replica, old), join(replica, original));
      });
    }
  } else if (roll < 0.9) {
    const dir = pick(dirs);
    if (dir !== undefined)
      attempt('dir-symlink-inside', () =>
        symlinkSync(outside, join(replica, dir, `planted${Math.floor(random() * 1e6)}`)),
      );
  } else {
    attempt('mkdir-junk', () => mkdirSync(join(replica, `junk${Math.floor(random() * 1e6)}`)));
  }
}

let stopped = false;
process.on('SIGTERM', () => {
  stopped = true;
});
process.stdout.write(`${JSON.stringify({ started: mode, seed })}\n`);
while (!stopped) {
  if (mode === 'plant-temps') plantTemps();
  else if (mode === 'random') randomAct();
  else {
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(2);
  }
  // Let the signal handler run; a short pause keeps the attacker busy but not monopolizing a core.
  await new Promise((resolve) => setTimeout(resolve, mode === 'random' ? 1 + Math.floor(random() * 8) : 0));
}
process.stdout.write(`${JSON.stringify({ mode, seed, counts })}\n`);
