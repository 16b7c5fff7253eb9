// The final errors of topic checks: a topic mirrorlog needs that is missing, or that exists
// with settings it cannot work with. Both are CliErrors (one line, exit 2).
import { CliError } from './errors.ts';

/** The existing topic cannot serve the configuration: changing it would break the log's contract (final: exit 2). */
export class TopicMismatchError extends CliError {
  constructor(
    readonly topic: string,
    readonly setting: string,
    readonly expected: string,
    readonly actual: string,
    hint: string,
  ) {
    super(`topic '${topic}' has ${setting} ${actual}, but ${expected} is required: ${hint}`);
    this.name = 'TopicMismatchError';
  }
}

/**
 * A topic a service needs and must not create (a mistyped --topic would otherwise start an
 * empty log). Final: exit 2.
 */
export class MissingTopicError extends CliError {
  constructor(
    readonly topic: string,
    hint: string,
  ) {
    super(`topic '${topic}' does not exist: ${hint}`);
    this.name = 'MissingTopicError';
  }
}
