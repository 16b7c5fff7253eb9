// A deterministic mixed workload on a real directory: creates, overwrites, appends,
// deletes, renames of files and of whole directories, symlinks, chmod, empty and deep
// directories, type changes, odd names. Targets are picked by walking the tree as it
// is, so the operations meet each other (rename onto, delete what was just made...).
import fs from 'node:fs';
import path from 'node:path';

/** mulberry32: a small seeded generator in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAME_STYLES = [
  (n: number) => `f${n}.html`,
  (n: number) => `with space ${n}`,
  (n: number) => `ünï-${n}`,
  (n: number) => `new\nline${n}`,
  (n: number) => `🙂${n}`,
  (n: number) => `.hidden${n}`,
];

export class Workload {
  private readonly random: () => number;
  private counter = 0;
  readonly done: string[] = [];

  constructor(
    private readonly root: string,
    seed: number,
  ) {
    this.random = prng(seed);
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }

  private name(): string {
    return this.pick(NAME_STYLES)!(++this.counter);
  }

  private children(dir: string): fs.Dirent[] {
    try {
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
  }

  /** A random existing directory (the root included). */
  private dir(): string {
    let dir = this.root;
    for (;;) {
      const subdirs = this.children(dir).filter((d) => d.isDirectory() && !d.isSymbolicLink());
      if (subdirs.length === 0 || this.random() < 0.4) return dir;
      dir = path.join(dir, this.pick(subdirs)!.name);
    }
  }

  private entry(filter: (d: fs.Dirent) => boolean): string | undefined {
    for (let tries = 0; tries < 5; tries++) {
      const dir = this.dir();
      const child = this.pick(this.children(dir).filter(filter));
      if (child !== undefined) return path.join(dir, child.name);
    }
    return undefined;
  }

  private content(): Buffer {
    const size = Math.floor(this.random() * 3000);
    return Buffer.from(Array.from({ length: size }, () => Math.floor(this.random() * 256)));
  }

  /** Runs `count` random operations; errors of the kind a busy tree produces are ignored. */
  run(count: number): void {
    for (let i = 0; i < count; i++) {
      try {
        this.step();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (!['ENOENT', 'EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR', 'EINVAL'].includes(code ?? '')) throw error;
      }
    }
  }

  private step(): void {
    const isFile = (d: fs.Dirent) => d.isFile();
    const isDir = (d: fs.Dirent) => d.isDirectory();
    const roll = this.random();
    const log = (what: string) => this.done.push(what);
    if (roll < 0.3) {
      const file = path.join(this.dir(), this.name());
      fs.writeFileSync(file, this.content());
      log(`create ${file}`);
    } else if (roll < 0.4) {
      const file = this.entry(isFile);
      if (file) {
        fs.writeFileSync(file, this.content());
        log(`overwrite ${file}`);
      }
    } else if (roll < 0.45) {
      const file = this.entry(isFile);
      if (file) {
        fs.appendFileSync(file, this.content());
        log(`append ${file}`);
      }
    } else if (roll < 0.52) {
      const file = this.entry((d) => !d.isDirectory());
      if (file) {
        fs.rmSync(file);
        log(`delete ${file}`);
      }
    } else if (roll < 0.6) {
      const file = this.entry(isFile);
      if (file) {
        const to = path.join(this.dir(), this.name());
        fs.renameSync(file, to);
        log(`rename ${file} → ${to}`);
      }
    } else if (roll < 0.68) {
      const dir = path.join(this.dir(), this.name());
      fs.mkdirSync(this.random() < 0.3 ? path.join(dir, 'x', 'y') : dir, { recursive: true });
      log(`mkdir ${dir}`);
    } else if (roll < 0.74) {
      const dir = this.entry(isDir);
      const parent = this.dir();
      if (dir && !`${parent}/`.startsWith(`${dir}/`)) {
        const to = path.join(parent, this.name());
        fs.renameSync(dir, to);
        log(`rename dir ${dir} → ${to}`);
      }
    } else if (roll < 0.78) {
      const dir = this.entry(isDir);
      if (dir) {
        fs.rmSync(dir, { recursive: true });
        log(`rm -rf ${dir}`);
      }
    } else if (roll < 0.83) {
      const link = path.join(this.dir(), this.name());
      fs.symlinkSync(this.pick(['../elsewhere', 'f1.html', '/etc/hostname', 'a/b/c'])!, link);
      log(`symlink ${link}`);
    } else if (roll < 0.9) {
      const target = this.entry((d) => !d.isSymbolicLink());
      if (target) {
        fs.chmodSync(target, this.pick([0o600, 0o644, 0o640, 0o755, 0o700, 0o2755])!);
        log(`chmod ${target}`);
      }
    } else if (roll < 0.94) {
      const file = this.entry(isFile);
      if (file) {
        const when = new Date(Date.UTC(2020, 0, 1) + Math.floor(this.random() * 1e10));
        fs.utimesSync(file, when, when);
        log(`touch ${file}`);
      }
    } else if (roll < 0.97) {
      const dir = this.entry(isDir);
      if (dir) {
        fs.rmSync(dir, { recursive: true });
        fs.writeFileSync(dir, this.content());
        log(`dir → file ${dir}`);
      }
    } else {
      const file = this.entry(isFile);
      if (file) {
        fs.rmSync(file);
        fs.mkdirSync(file);
        fs.writeFileSync(path.join(file, this.name()), this.content());
        log(`file → dir ${file}`);
      }
    }
  }
}
