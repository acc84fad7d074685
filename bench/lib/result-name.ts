import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a run writes its result when no `--out` is given: `<prefix><day><suffix><ext>`, or with the start time
 * after the day when that file already exists. Results are committed and cited by name from the READMEs, so a
 * second run on the same day must not replace the one they cite.
 */
export function resultPath(dir: string, started: number, name: { prefix?: string; suffix?: string; ext?: string } = {}): string {
  const iso = new Date(started).toISOString();
  const file = (stamp: string) => path.join(dir, `${name.prefix ?? ''}${stamp}${name.suffix ?? ''}${name.ext ?? '.json'}`);
  const daily = file(iso.slice(0, 10));
  return existsSync(daily) ? file(`${iso.slice(0, 10)}T${iso.slice(11, 19).replace(/:/g, '')}`) : daily;
}
