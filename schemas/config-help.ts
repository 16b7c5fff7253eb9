// One line of help per configuration option, shown by `--help` beside its flag, its
// environment variable and its default. Kept beside the schema (and not as `.describe()`
// calls inside it) so the table reads as the manual it is. A unit test fails when an
// option of any command has no line here, so a new option cannot ship unexplained.

export type OptionHelp = {
  readonly text: string;
  /** What the default is when the schema cannot say (computed at run time). */
  readonly defaultText?: string;
};

export const OPTION_HELP: Readonly<Record<string, OptionHelp>> = {
  replicationFactor: {
    text: 'copies of the topics mirrorlog creates (events, dead letters)',
    defaultText: '3 on 3+ brokers, else the broker count',
  },
  minInsyncReplicas: {
    text: 'min.insync.replicas of the topics mirrorlog creates',
    defaultText: '2 on 3+ brokers, else 1',
  },
  allowSingleReplica: { text: 'accept one copy of the log on a multi-broker cluster (refused otherwise)' },
  kafkaTls: { text: 'connect to the brokers over TLS' },
  kafkaCaFile: { text: "PEM file of the CA that signed the brokers' certificates (implies TLS)" },
  kafkaCertFile: { text: 'PEM client certificate for TLS client authentication (with --kafka-key-file)' },
  kafkaKeyFile: { text: 'PEM private key of the client certificate (never logged)' },
  kafkaSaslMechanism: { text: 'SASL mechanism: plain, scram-sha-256 or scram-sha-512 (always over TLS)' },
  kafkaSaslUsername: { text: 'SASL user name' },
  kafkaSaslPassword: { text: 'SASL password (never logged; prefer the variable or a file to a flag)' },
  kafkaSaslPasswordFile: { text: 'file holding the SASL password (never logged)' },
  s3PathStyle: { text: 'path-style S3 addressing; false for virtual-hosted buckets (AWS S3)' },
  s3CaFile: { text: 'PEM file of a private CA for an https:// S3 endpoint' },
  watcher: { text: 'how changes are captured: auto (fanotify when possible, else inotify), fanotify, inotify, parcel' },
  maxDelete: {
    text: 'most deletes one walk or burst may publish unconfirmed: a count, a percentage, 0 (no limit) or auto',
  },
  giveUpAfter: { text: 'stop waiting for unreachable servers at start after this long (exit 1); unset: wait for ever' },
  xattrs: { text: 'carry extended attributes: user.*, and trusted.* and security.* where readable (record format 3)' },
  acls: { text: 'carry POSIX ACLs, access and default (record format 3)' },
  confirmDeletes: { text: 'publish the deletes this start finds, however many (after a held mass deletion)' },
  allowSetid: { text: 'apply setuid/setgid bits as the log says (stripped and counted otherwise)' },
  owner: {
    text:
      "owners of replicated entries: preserve (as the source's, by name unless --numeric-ids), " +
      'map (only as --usermap/--groupmap say) or none; unset: preserve when root, else none',
  },
  usermap: { text: 'FROM:TO,... user rules tried first (FROM: name, id, lo-hi or *; TO: name or id), as rsync' },
  groupmap: { text: 'FROM:TO,... group rules, as --usermap' },
  numericIds: { text: 'keep owner ids as numbers instead of mapping them by name' },
  adopt: { text: 'a new replica on a non-empty target keeps what matches the log, then converges' },
  offlineAfter: { text: 'a replica without an applier for this long shows as offline (exit 1)' },
  unregister: { text: 'forget a tree registered under this prefix (gc then no longer keeps its content)' },
  brokers: { text: 'Kafka bootstrap brokers, host:port' },
  topic: { text: 'the topic of this tree (one topic per tree)' },
  partitions: { text: 'partitions of the topic, fixed when it is created' },
  historyWindow: { text: 'compaction lag and tombstone retention: how far back restore is exact' },
  s3Endpoint: { text: 'URL of the S3-compatible content store' },
  s3AccessKey: { text: 'S3 access key (never logged)' },
  s3SecretKey: { text: 'S3 secret key (never logged)' },
  s3Region: { text: 'S3 region' },
  bucket: { text: 'bucket of the content store' },
  s3Prefix: { text: "key prefix inside the bucket, e.g. 'tree-a/' (one per topic)" },
  stateDir: {
    text: "the service's own state (its index)",
    defaultText: '~/.local/state/mirrorlog/<source or replica>',
  },
  metricsPort: { text: 'port of /healthz, /readyz and /metrics', defaultText: '9464 (producer), 9465 (applier)' },
  metricsHost: { text: 'address /healthz, /readyz and /metrics listen on' },
  logLevel: { text: 'least severe log level written (JSON on stdout)' },
  statusUrl: { text: 'where the status page is, linked from the metrics port' },
  root: { text: 'the source tree to watch and mirror' },
  source: { text: "the producer's id", defaultText: '<hostname>-<hash of root>' },
  exclude: { text: 'glob of paths not mirrored, with their subtree' },
  quietWindow: { text: 'changes of one path are coalesced over this quiet time' },
  reconcileInterval: { text: 'how often the background safety-net walk runs while live' },
  reconcileRate: { text: 'entries per second the background walk may examine' },
  uploadConcurrency: { text: 'paths examined and uploaded in parallel' },
  inlineMaxBytes: { text: 'files up to this many bytes travel inside their record (0: never)' },
  maxPending: { text: 'paths in flight before the watcher is held back (backpressure)' },
  target: { text: 'the directory the replica lives in' },
  replica: { text: 'name of the replica (consumer group mirrorlog.replica.NAME)' },
  rebuild: { text: 'replay the log from the beginning into the target, then sweep' },
  durability: { text: 'how data is made durable before offsets are committed' },
  fetchConcurrency: { text: 'content downloads in flight' },
  commitInterval: { text: 'how often a durability point (sync, index and offset commit) happens' },
  at: { text: 'the time to restore: ISO-8601 or relative to now (-2h)' },
  hash: { text: 'compare file contents by sha256, not only size and mtime' },
  repair: { text: 'fix the differences found (stop the applier first)' },
  json: { text: 'print JSON instead of text' },
  grace: { text: 'objects written more recently are kept, referenced or not' },
  dryRun: { text: 'print what would be deleted, delete nothing' },
  heal: { text: 'delete nothing; ask the producer to upload again referenced content the store lacks' },
  force: { text: 'allow a grace below 1h (only when no producer publishes)' },
  sample: { text: 'how long offsets are watched to measure rates' },
  stallAfter: { text: 'a replica behind that committed nothing for this long is stalled' },
  serve: { text: 'serve a live status page instead of printing once' },
  port: { text: 'port of the status page (with --serve)' },
  bind: { text: 'address the status page listens on; not loopback: anyone who reaches it can read it' },
  scrape: { text: 'metrics URL of a producer or applier the page shows (with --serve)' },
};
