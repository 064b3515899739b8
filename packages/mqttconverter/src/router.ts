import type { Route } from './routes.js';
import { matchTopic } from './topic-template.js';

/** The route a message belongs to, with the parameters its template lifted. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
}

/** Finds the route of a received topic. */
export interface Router {
  readonly routes: readonly Route[];
  /**
   * The route for `topic`. When the broker says which subscriptions matched (MQTT 5 subscription
   * identifiers, `index + 1` of each route), the first of those routes whose template matches
   * wins, so overlapping filters route each copy to its own route; otherwise (or when an
   * identifier is stale, left by an older configuration in a persistent session) the first route
   * in file order whose template matches. `undefined`: no route accepts the topic.
   */
  match(topic: string, subscriptionIdentifiers?: readonly number[]): RouteMatch | undefined;
  /** The subscription identifier used for a route (its index + 1). */
  subscriptionIdentifier(route: Route): number;
}

/** Creates a {@link Router} over validated routes. Pure. */
export function createRouter(routes: readonly Route[]): Router {
  const index = new Map<Route, number>(routes.map((route, i) => [route, i + 1]));
  return {
    routes,
    match(topic, subscriptionIdentifiers) {
      if (subscriptionIdentifiers !== undefined) {
        for (const id of subscriptionIdentifiers) {
          const route = routes[id - 1];
          if (route === undefined) continue;
          const params = matchTopic(route.template, topic);
          if (params !== undefined) return { route, params };
        }
      }
      for (const route of routes) {
        const params = matchTopic(route.template, topic);
        if (params !== undefined) return { route, params };
      }
      return undefined;
    },
    subscriptionIdentifier(route) {
      const id = index.get(route);
      if (id === undefined) throw new Error(`route '${route.name}' is not one of this router's`);
      return id;
    },
  };
}
