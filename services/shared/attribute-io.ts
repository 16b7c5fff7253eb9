// Reading and setting an entry's attributes (attributes.ts) through fsat's xattr calls.
// The applier reaches a replica entry through /proc/self/fd/N of the fd it holds, so
// nothing is resolved by path again; the producer reads a source entry by its path.
import { nameFromBytes } from '../../schemas/name-bytes.ts';
import type { Attributes } from '../../schemas/entry-attributes.ts';
import { attributesOf, wantedAttributes, type AttributeScope, type DroppedAttribute } from './attributes.ts';
import { fsat } from './native/fsat.ts';

/** The filesystem keeps no attributes (or not of this kind): the entry has none. */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP']);

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? '';
}

/** Every attribute of `path` (none where the filesystem keeps none); undefined when it is gone. */
function listedAt(path: string, follow: 0 | 1): [Buffer, Buffer][] | undefined {
  try {
    return fsat.xattrs(path, follow);
  } catch (error) {
    if (UNSUPPORTED.has(code(error))) return [];
    if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** A source entry's attributes; undefined when it is gone (the caller looks at it again). */
export function readAttributesAt(
  path: string,
  scope: AttributeScope,
): { attributes: Attributes; dropped: DroppedAttribute[] } | undefined {
  const pairs = listedAt(path, 0);
  return pairs === undefined ? undefined : attributesOf(pairs, scope);
}

export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/**
 * The attributes of a replica entry in the parts a record carries (verify compares these):
 * `path` in /proc/self/fd/N form, `follow` 0 for an entry named below it (a symlink itself).
 */
export function carriedAttributesAt(path: string, follow: 0 | 1, like: Attributes): Attributes {
  const scope = { xattrs: like.xattrs !== undefined, acl: like.acl !== undefined };
  return attributesOf(listedAt(path, follow) ?? [], scope).attributes;
}

/** A name the replica's filesystem or the applier's privileges refused (EPERM, EOPNOTSUPP). */
export type RefusedAttribute = { name: string; code: string };

/**
 * Makes the entry `fd` holds carry exactly `attributes` in the namespaces they cover:
 * missing or different values are set, others in those namespaces removed (a file created
 * in a directory with a default ACL inherits one the source's may not have). Refusals the
 * applier cannot heal by retrying are returned, not thrown: the entry is still applied.
 */
export function applyAttributes(fd: number, attributes: Attributes): RefusedAttribute[] {
  const { wanted, manages } = wantedAttributes(attributes);
  const path = fdPath(fd);
  const refused: RefusedAttribute[] = [];
  const attempt = (name: string, act: () => void) => {
    try {
      act();
    } catch (error) {
      const why = code(error);
      if (why !== 'EPERM' && why !== 'EACCES' && !UNSUPPORTED.has(why)) throw error;
      refused.push({ name, code: why });
    }
  };
  let present: [Buffer, Buffer][] = [];
  attempt('*', () => {
    present = fsat.xattrs(path, 1);
  });
  const have = new Map(present.map(([name, value]) => [nameFromBytes(name), value]));
  for (const name of have.keys()) {
    if (manages(name) && !wanted.has(name)) attempt(name, () => fsat.removexattr(path, name, 1));
  }
  for (const [name, value] of wanted) {
    if (!have.get(name)?.equals(value)) attempt(name, () => fsat.setxattr(path, name, value, 1));
  }
  return refused;
}
