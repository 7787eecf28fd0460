/**
 * What the monitor tells the rest of the process as it works: the metrics registry and the
 * dashboard's live stream listen; the service, the dispatcher and the dashboard's actions emit.
 * Events carry counts, names and ids, never a patient identifier.
 */
export interface MonitorEventMap {
  /** A polled batch was scored and committed (also emitted for an empty poll). */
  readonly batch: {
    readonly at: number;
    /** Poll, score, triage and commit. */
    readonly ms: number;
    /** The scorer's call alone (0 for an empty poll: nothing was scored). */
    readonly scoringMs: number;
    readonly changed: number;
    /** Scored records per band (`normal`, …, `critical`, `invalid`). */
    readonly bands: Readonly<Record<string, number>>;
    /** Alerts created and escalated, per band. */
    readonly alertsCreated: Readonly<Record<string, number>>;
    readonly alertsEscalated: Readonly<Record<string, number>>;
    readonly caughtUp: boolean;
    /** When the newest change of the batch was committed at the source (ms), when known. */
    readonly newestChangeAt: number | null;
  };
  /** A poll failed; nothing was committed. */
  readonly pollFailed: { readonly at: number; readonly error: string; readonly failures: number };
  /** One attempt to send a notification to a sink. */
  readonly delivery: {
    readonly at: number;
    readonly sink: string;
    readonly ok: boolean;
    readonly ms: number;
    readonly alerts: number;
    /** The notification gave up (kept as dead). */
    readonly dead: boolean;
  };
  /** Someone changed an alert's review state. */
  readonly alertState: {
    readonly at: number;
    readonly alertId: number;
    readonly band: string;
    readonly from: string;
    readonly to: string;
    readonly by: string;
  };
}

export type MonitorEventType = keyof MonitorEventMap;
type Listener<K extends MonitorEventType> = (event: MonitorEventMap[K]) => void;

/** The producer's side: all the service and dispatcher need. */
export interface MonitorEvents {
  emit<K extends MonitorEventType>(type: K, event: MonitorEventMap[K]): void;
}

/**
 * A synchronous, typed event bus. A listener that throws is reported to `onListenerError` and
 * never reaches the emitter: a broken metric or a closed browser stream cannot stop scoring.
 */
export class MonitorEventBus implements MonitorEvents {
  private readonly listeners = new Map<MonitorEventType, Set<(event: never) => void>>();

  constructor(
    private readonly onListenerError: (error: unknown, type: MonitorEventType) => void = () => {},
  ) {}

  on<K extends MonitorEventType>(type: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends MonitorEventType>(type: K, event: MonitorEventMap[K]): void {
    for (const listener of this.listeners.get(type) ?? []) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        this.onListenerError(error, type);
      }
    }
  }

  listenerCount(type: MonitorEventType): number {
    return this.listeners.get(type)?.size ?? 0;
  }
}
