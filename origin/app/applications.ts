/**
 * The origin's applications by name, from `--apps`: `classroom` is the classroom application,
 * every other name (`live`, ...) a plain application (accepts everyone, no methods, clients'
 * own shared objects). Sessions look up the application a client connects to here.
 */
import type { Logger } from '#common/logger.ts';
import type { Recordings } from '../core/origin-context.ts';
import { SharedObjectStore } from '../shared-objects/persistence.ts';
import { Application, type ApplicationLimits, type ApplicationServices } from './application.ts';
import { ClassroomApplication } from './classroom/classroom.ts';

export interface ApplicationsOptions {
  names: readonly string[];
  /** Persistent shared objects go under `<dataDir>/shared-objects`. */
  dataDir: string;
  limits: ApplicationLimits;
  recordings: Recordings;
}

type AnyApplication = Application<unknown>;

export class Applications {
  readonly #apps = new Map<string, AnyApplication>();
  readonly store: SharedObjectStore;

  constructor(options: ApplicationsOptions, log: Logger) {
    this.store = new SharedObjectStore(`${options.dataDir}/shared-objects`, log.child('shared-objects'));
    const services: ApplicationServices = { recordings: options.recordings, sharedObjectStore: this.store, limits: options.limits, log };
    for (const name of options.names) {
      const app = name === 'classroom' ? new ClassroomApplication(name, services) : new Application(name, services);
      this.#apps.set(name, app as AnyApplication);
    }
  }

  get(name: string): AnyApplication | undefined {
    return this.#apps.get(name);
  }

  /** Every application, in `--apps` order. */
  all(): AnyApplication[] {
    return [...this.#apps.values()];
  }

  /** Closes every application; resolves when persistent shared objects are on disk. */
  async close(): Promise<void> {
    await Promise.all([...this.#apps.values()].map((app) => app.close()));
    await this.store.flush();
  }
}
