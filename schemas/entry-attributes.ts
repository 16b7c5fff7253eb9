// Extended attributes and POSIX ACLs as events carry them (record format 3): the wire
// schemas, and the domain form every layer compares and copies. schemas/event.ts puts them
// on file, directory and symlink events.
import { z } from 'zod';
import { isCanonicalName, nameByteLength } from './name-bytes.ts';

/** Namespaces of the extended attributes `--xattrs` carries (ACLs travel in `acl`; other system.* never). */
export const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.'] as const;

/** Whether a name is one of an attribute in XATTR_NAMESPACES (a namespace alone is no name). */
export function isCarriedXattrName(name: string): boolean {
  return XATTR_NAMESPACES.some((prefix) => name.startsWith(prefix) && name.length > prefix.length);
}
export const MAX_XATTR_NAME_BYTES = 255;
/**
 * Bound on one entry's attributes (names and values, raw bytes): with the largest inline
 * content, its record stays below the applier's MAX_EVENT_VALUE_BYTES. ext4 keeps at most
 * one block of them; an entry beyond the bound travels without `xattrs` (left as it is).
 */
export const MAX_XATTR_BYTES = 96 * 1024;

const base64Value = z.base64().max(Math.ceil(MAX_XATTR_BYTES / 3) * 4);

export const XattrsSchema = z
  .record(
    z
      .string()
      .refine(isCarriedXattrName, {
        message: `an attribute name in ${XATTR_NAMESPACES.map((n) => `${n}*`).join(', ')}`,
      })
      .refine((name) => !name.includes('\0') && isCanonicalName(name) && nameByteLength(name) <= MAX_XATTR_NAME_BYTES, {
        message: `an attribute name of at most ${MAX_XATTR_NAME_BYTES} bytes, without NUL, in canonical form`,
      }),
    base64Value,
  )
  .refine((xattrs) => attributeBytes(xattrs) <= MAX_XATTR_BYTES, `at most ${MAX_XATTR_BYTES} bytes in all`)
  .meta({
    description:
      'Extended attributes in user.*, trusted.* and security.* (name -> base64 value), format 3: the entry has ' +
      'exactly these there; absent when the producer does not carry them (--xattrs)',
  });

export const AclSchema = z
  .strictObject({
    access: base64Value.optional(),
    default: base64Value.optional(),
  })
  .meta({
    description:
      'POSIX ACLs as the kernel stores them (the values of system.posix_acl_access and _default, base64), ' +
      'format 3: absent parts are not set; the whole field is absent when the producer does not carry ACLs (--acls)',
  });

/** Raw bytes of a set of attributes (values as base64 text): what MAX_XATTR_BYTES bounds. */
export function attributeBytes(xattrs: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const [name, value] of Object.entries(xattrs))
    total += nameByteLength(name) + Math.floor((value.length * 3) / 4);
  return total;
}

/** Extended attribute name -> value as base64 (compared and stored as text). */
export type Xattrs = Readonly<Record<string, string>>;
/** The values of system.posix_acl_access and system.posix_acl_default, base64. */
export type Acl = { readonly access?: string; readonly default?: string };

/**
 * `xattrs`, `acl`: what the entry holds, when the producer carries them; undefined: not
 * carried, and the replica's are left as they are.
 */
export type Attributes = { xattrs?: Xattrs; acl?: Acl };

/** Whether two entries hold the same attributes (both carried alike and equal). */
export function sameAttributes(a: Attributes, b: Attributes): boolean {
  return sameRecord(a.xattrs, b.xattrs) && sameRecord(a.acl, b.acl);
}

function sameRecord(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined) {
  if (a === undefined || b === undefined) return a === b;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => a[key] === b[key]);
}

/** Just the attribute fields of an entry, those it carries (for spreading into another). */
export function attributesIn(entry: Attributes): Attributes {
  return {
    ...(entry.xattrs === undefined ? {} : { xattrs: entry.xattrs }),
    ...(entry.acl === undefined ? {} : { acl: entry.acl }),
  };
}

/** Whether an entry carries attributes, so its record needs ATTRIBUTES_VERSION. */
export function hasAttributes(entry: Attributes): boolean {
  return entry.xattrs !== undefined || entry.acl !== undefined;
}
