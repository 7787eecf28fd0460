/** Where long steps report (the train app's progress bar, a monitor's log); every method optional to call. */
export interface WorkflowProgress {
  /** A new stage, one line. */
  stage(message: string): void;
  /** `done` of `total` items of a named step. */
  step(name: string, done: number, total: number): void;
  info(message: string): void;
}
