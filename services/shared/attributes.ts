// Extended attributes and POSIX ACLs between the kernel's form (name -> bytes, ACLs as the
// system.posix_acl_* attributes) and what a record carries (`xattrs`, `acl`: base64 text).
// Names are canonical text, as paths are (schemas/name-bytes.ts).
// Pure; the syscalls are attribute-io.ts.
import { nameFromBytes } from '../../schemas/name-bytes.ts';
import {
  attributeBytes,
  MAX_XATTR_BYTES,
  isCarriedXattrName,
  type Acl,
  type Attributes,
} from '../../schemas/entry-attributes.ts';

export const ACL_ACCESS = 'system.posix_acl_access';
export const ACL_DEFAULT = 'system.posix_acl_default';

/** Which attributes travel: `--xattrs` (user.*, trusted.*, security.*) and `--acls`. */
export type AttributeScope = { xattrs: boolean; acl: boolean };

export function carriesAttributes(scope: AttributeScope | undefined): scope is AttributeScope {
  return scope !== undefined && (scope.xattrs || scope.acl);
}

/** Why an attribute of the source does not travel (counted and logged by the caller). */
export type DroppedAttribute = 'too-large';

/**
 * What a record says of an entry whose attributes the kernel listed as `pairs`. An entry
 * whose attributes exceed MAX_XATTR_BYTES carries no `xattrs` at all (its replica's stay
 * as they are), never a part of them: a partial set would remove the rest on the replica.
 */
export function attributesOf(
  pairs: readonly (readonly [Buffer, Buffer])[],
  scope: AttributeScope,
): { attributes: Attributes; dropped: DroppedAttribute[] } {
  const xattrs: Record<string, string> = {};
  const acl: { access?: string; default?: string } = {};
  const dropped: DroppedAttribute[] = [];
  for (const [rawName, value] of pairs) {
    const name = nameFromBytes(rawName);
    if (name === ACL_ACCESS) acl.access = value.toString('base64');
    else if (name === ACL_DEFAULT) acl.default = value.toString('base64');
    else if (isCarriedXattrName(name)) xattrs[name] = value.toString('base64');
  }
  const attributes: Attributes = {};
  if (scope.xattrs) {
    if (attributeBytes(xattrs) <= MAX_XATTR_BYTES) attributes.xattrs = sorted(xattrs);
    else dropped.push('too-large');
  }
  if (scope.acl) attributes.acl = acl;
  return { attributes, dropped };
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What the replica entry must hold, as kernel names and bytes, and which names it manages. */
export function wantedAttributes(attributes: Attributes): {
  wanted: Map<string, Buffer>;
  manages: (name: string) => boolean;
} {
  const wanted = new Map<string, Buffer>();
  for (const [name, value] of Object.entries(attributes.xattrs ?? {})) wanted.set(name, Buffer.from(value, 'base64'));
  const acl: Acl = attributes.acl ?? {};
  if (acl.access !== undefined) wanted.set(ACL_ACCESS, Buffer.from(acl.access, 'base64'));
  if (acl.default !== undefined) wanted.set(ACL_DEFAULT, Buffer.from(acl.default, 'base64'));
  const xattrs = attributes.xattrs !== undefined;
  const acls = attributes.acl !== undefined;
  return {
    wanted,
    manages: (name) => (acls && (name === ACL_ACCESS || name === ACL_DEFAULT)) || (xattrs && isCarriedXattrName(name)),
  };
}

/** The attributes as one text for an index column (undefined: none carried). */
export function attributesText(attributes: Attributes): string | null {
  if (attributes.xattrs === undefined && attributes.acl === undefined) return null;
  return JSON.stringify({ x: attributes.xattrs, a: attributes.acl });
}

export function attributesFromText(text: string | null): Attributes {
  if (text === null) return {};
  const parsed = JSON.parse(text) as { x?: Record<string, string>; a?: Acl };
  return {
    ...(parsed.x === undefined ? {} : { xattrs: parsed.x }),
    ...(parsed.a === undefined ? {} : { acl: parsed.a }),
  };
}
