import type { UiConfig } from "../api";
import type { RouteState } from "../route";

export interface PageProps {
  route: RouteState;
  /** Changes when the same search is submitted again (to re-run it). */
  nonce: number;
  /** Goes to a new state (merged into the current one); the URL follows. */
  navigate(next: Partial<RouteState>): void;
  config: UiConfig | null;
}
