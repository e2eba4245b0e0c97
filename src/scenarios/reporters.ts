import { printable, printableJson } from '../cli/printable.js';
import type { ReporterName } from './args.js';
import { PLAIN, type Paint } from './colour.js';
import { junitReport } from './junit.js';
import {
  formatRunNote,
  formatScenario,
  formatSummary,
  jsonErrorReport,
  jsonReport,
  type ReportedScenario,
  type RunOutcome,
} from './report.js';
import { tapReport } from './tap.js';

/**
 * A reporter turns a run into text: some of it as each scenario finishes
 * (the `default` reporter, so a person watches the run), the rest once it is
 * over (the documents: json, junit, tap). The command decides where the
 * text goes (stdout or a file), never the reporter.
 */
export interface Reporter {
  scenario(entry: ReportedScenario): string;
  end(outcome: RunOutcome): string;
}

export interface ReporterSettings {
  /** Colour, for the default reporter on a terminal. */
  paint: Paint;
  /** The total time on the line before the closing one: on a terminal only, so piped output stays as SPEC §7 has it. */
  withTime: boolean;
}

export function createReporter(name: ReporterName, { paint, withTime }: ReporterSettings = { paint: PLAIN, withTime: false }): Reporter {
  const none = () => '';
  switch (name) {
    case 'default':
      return {
        scenario: (entry) => `${formatScenario(entry, paint)}\n`,
        // Files that could not be loaded are said on stderr, whichever reporters run; nothing was run to sum up.
        end: (outcome) => {
          if (outcome.errors.length > 0) return '';
          const note = formatRunNote(outcome, withTime);
          return `${note === undefined ? '' : `${paint.dim(note)}\n`}${formatSummary(outcome.reported.map((r) => r.result))}\n`;
        },
      };
    case 'json':
      return {
        scenario: none,
        // printable: JSON.stringify leaves C1 controls and bidi overrides raw; written out, the document means the same.
        end: (outcome) =>
          `${printableJson(outcome.errors.length > 0 ? jsonErrorReport(outcome.errors) : jsonReport(outcome.reported, outcome.notRun))}\n`,
      };
    case 'junit':
      return { scenario: none, end: junitReport };
    case 'tap':
      // Its YAML strings are JSON's, which leave C1 controls and bidi overrides raw: written out, as YAML reads `\uXXXX`.
      return { scenario: none, end: (outcome) => printable(tapReport(outcome)) };
  }
}
