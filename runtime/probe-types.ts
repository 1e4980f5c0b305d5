// The types shared by the probe, the id-mode decision and doctor's report.

export interface IdRange {
  start: number;
  count: number;
}

export interface ProbeCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export type IdModeDecision =
  /** Real root without a user namespace: `warning` says why (steps then keep Docker's capabilities, as host root). */
  | { mode: 'root'; warning?: string }
  /** `hostRoot`: tsbuild runs as root; its steps get the range, host root is mapped only for the builder. */
  | { mode: 'subuid'; uid: number; gid: number; subuid: IdRange; subgid: IdRange; hostRoot?: { source: string } }
  | { mode: 'single'; uid: number; gid: number; warning: string }
  | { mode: 'unavailable'; reason: string; fix: string };
