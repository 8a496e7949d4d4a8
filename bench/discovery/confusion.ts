// The confusion matrix both discovery evaluations keep (truth → predicted → count) and the per-class
// precision and recall read from it.
import { APP_CLASSES, type AppClass } from "../../provider/discovery/types";

export type Confusion = Record<AppClass, Record<AppClass, number>>;

export interface ClassRate {
  applicationClass: AppClass;
  precision: number;
  recall: number;
  support: number;
}

/** Every cell at 0. */
export function emptyConfusion(): Confusion {
  return Object.fromEntries(
    APP_CLASSES.map((t) => [t, Object.fromEntries(APP_CLASSES.map((p) => [p, 0]))]),
  ) as Confusion;
}

/** Precision and recall of each class that is present (as truth or as a prediction); 1 where nothing counts. */
export function classRates(matrix: Confusion): ClassRate[] {
  return APP_CLASSES.map((cls) => {
    const tp = matrix[cls][cls];
    const predicted = APP_CLASSES.reduce((a, t) => a + matrix[t][cls], 0);
    const support = APP_CLASSES.reduce((a, p) => a + matrix[cls][p], 0);
    return {
      applicationClass: cls,
      precision: predicted ? tp / predicted : 1,
      recall: support ? tp / support : 1,
      support,
    };
  }).filter((p) => p.support > 0 || APP_CLASSES.some((t) => matrix[t][p.applicationClass] > 0));
}
