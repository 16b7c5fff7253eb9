// What a replica entry's extended attributes and ACLs become, as the applier's policy
// allows: security.capability grants privileges to whoever runs the file, as setuid does,
// so it is set only with --allow-setid (otherwise stripped and counted like those bits).
import type { Attributes } from '../../../schemas/entry-attributes.ts';
import { applyAttributes, type RefusedAttribute } from '../../shared/attribute-io.ts';

const CAPABILITY = 'security.capability';

export type AttributePolicy = {
  /** Apply setuid/setgid bits (and capabilities) as the log says (`--allow-setid`); otherwise they are stripped. */
  readonly allowSetid?: boolean;
  /** A file's setuid/setgid bits (or its capabilities) were stripped. */
  readonly onSetidStripped?: () => void;
  /** Attributes the replica's filesystem or the applier's privileges refused (the entry is applied without them). */
  readonly onAttributesRefused?: (path: string, refused: RefusedAttribute[]) => void;
};

/** Sets the entry's attributes through an fd it is given; undefined when its event carries none. */
export function attributeSetter(
  path: string,
  meta: Attributes,
  policy: AttributePolicy,
): ((fd: number) => void) | undefined {
  if (meta.xattrs === undefined && meta.acl === undefined) return undefined;
  let attributes: Attributes = meta;
  if (meta.xattrs?.[CAPABILITY] !== undefined && policy.allowSetid !== true) {
    const { [CAPABILITY]: _granted, ...rest } = meta.xattrs;
    attributes = { ...meta, xattrs: rest };
    policy.onSetidStripped?.();
  }
  return (fd) => {
    const refused = applyAttributes(fd, attributes);
    if (refused.length > 0) policy.onAttributesRefused?.(path, refused);
  };
}
