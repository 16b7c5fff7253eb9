// --exclude globs, matched against root-relative paths. A path is excluded when it or
// any of its ancestors matches, so excluding a directory excludes everything below it.
import picomatch from 'picomatch';

export type Excluder = (path: string) => boolean;

export function createExcluder(globs: readonly string[]): Excluder {
  if (globs.length === 0) return () => false;
  const matches = picomatch([...globs], { dot: true });
  return (path) => {
    let slash = path.indexOf('/');
    while (slash >= 0) {
      if (matches(path.slice(0, slash))) return true;
      slash = path.indexOf('/', slash + 1);
    }
    return matches(path);
  };
}
