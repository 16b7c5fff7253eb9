/**
 * Verified content to write: in memory, or a staged file (in a directory only the applier writes) it may move
 * unless shared.
 */
export type Content = { kind: 'buffer'; data: Buffer } | { kind: 'file'; path: string; shared: boolean };
