/**
 * Generated from the Hookline OpenAPI document by openapi-typescript: do not edit.
 * Regenerate with `npm run client:generate`.
 */

export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The process is alive. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Liveness"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: accepting traffic, NATS and Postgres reachable */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Ready. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Readiness"];
                    };
                };
                /** @description Not ready; `checks` says what is missing. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Readiness"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Prometheus text format. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The OpenAPI 3.1 document. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": Record<string, never>;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/topics/{topic}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Publish one message */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Repeats of the same request within HOOKLINE_IDEMPOTENCY_WINDOW_S answer the original ids with `Idempotent-Replayed: true`; the key with a different request answers 409. */
                    "Idempotency-Key"?: string;
                };
                path: {
                    /** @description The topic: dot-separated tokens of [A-Za-z0-9_-]. */
                    topic: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": unknown;
                };
            };
            responses: {
                /** @description Stored in JetStream; every matching delivery will be made. */
                202: {
                    headers: {
                        /** @description `true` when an earlier publish with the same Idempotency-Key answered. */
                        "Idempotent-Replayed"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Published"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                403: components["responses"]["Forbidden"];
                /** @description `idempotency.key_reused`: the Idempotency-Key was used for a different request (another body, or a single publish against a batch) within the idempotency window; nothing was stored. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                413: components["responses"]["PayloadTooLarge"];
                415: components["responses"]["UnsupportedMediaType"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/topics/{topic}/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Publish up to 1000 messages */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Repeats of the same request within HOOKLINE_IDEMPOTENCY_WINDOW_S answer the original ids with `Idempotent-Replayed: true`; the key with a different request answers 409. */
                    "Idempotency-Key"?: string;
                };
                path: {
                    /** @description The topic. */
                    topic: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["BatchRequest"];
                };
            };
            responses: {
                /** @description All stored. */
                202: {
                    headers: {
                        /** @description `true` when an earlier publish with the same Idempotency-Key answered. */
                        "Idempotent-Replayed"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BatchPublished"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                403: components["responses"]["Forbidden"];
                /** @description `idempotency.key_reused`: the Idempotency-Key was used for a different request (another body, or a single publish against a batch) within the idempotency window; nothing was stored. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                413: components["responses"]["PayloadTooLarge"];
                415: components["responses"]["UnsupportedMediaType"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/topics/{pattern}/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Server-Sent Events of the messages matching a pattern */
        get: {
            parameters: {
                query?: {
                    /** @description Resume after this stream sequence. */
                    from?: string;
                    /** @description `message` (default: every event fires EventSource.onmessage) or `topic` (events named by topic). */
                    events?: "message" | "topic";
                    /** @description The bearer token, for clients that cannot set headers. */
                    access_token?: string;
                };
                header?: {
                    /** @description Resume after this stream sequence. */
                    "Last-Event-ID"?: string;
                };
                path: {
                    /** @description A topic pattern. */
                    pattern: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description An event stream: `id: <stream sequence>`, `data: {"id","topic","publishedAt","data"}` (event name `message`; with `events=topic`, `event: <topic>`); a final `event: error` says why the server ended it. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/event-stream": string;
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                403: components["responses"]["Forbidden"];
                429: components["responses"]["TooManyRequests"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ws": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * WebSocket twin of the event stream (HTTP upgrade)
         * @description Client frames: `{"type":"subscribe","pattern","from"?}`, `{"type":"unsubscribe","pattern"}`, `{"type":"ping"}`. Server frames: `subscribed`, `unsubscribed`, `pong`, `message` `{pattern, seq, id, topic, publishedAt, data}`, `error` `{code, message, pattern?}`.
         */
        get: {
            parameters: {
                query?: {
                    access_token?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Switching protocols. */
                101: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                401: components["responses"]["Unauthorized"];
                429: components["responses"]["TooManyRequests"];
                503: components["responses"]["Unavailable"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Messages newest first, each with its delivery counts; or, with ids, one summary of those messages */
        get: {
            parameters: {
                query?: {
                    /** @description A topic or pattern (`orders.*`, `orders.>`). */
                    topic?: string;
                    /** @description Published at or after. */
                    since?: string;
                    /** @description Published before. */
                    until?: string;
                    limit?: number;
                    cursor?: string;
                    /** @description Comma-separated message ids (1–1000): answer with their summary. */
                    ids?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page (MessagePage), or with `ids` the summary (MessageSummary). */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessagePage"] | components["schemas"]["MessageSummary"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages/summary": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Are these messages settled? One summary of up to 1,000 messages */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["MessageSummaryRequest"];
                };
            };
            responses: {
                /** @description The summary. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessageSummary"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Tenant-wide figures over the subscriptions the caller sees */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The figures. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TenantStats"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/stats": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        /** A subscription's delivery counts, recent attempts, latency and breaker */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The figures. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SubscriptionStats"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A message and the state of each of its deliveries */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A message id (`msg_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The message. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Message"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List subscriptions (oldest first) */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SubscriptionList"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        /** Create a subscription */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["SubscriptionCreate"];
                };
            };
            responses: {
                /** @description Created. A webhook carries its `secret` here, and only here. */
                201: {
                    headers: {
                        Location?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SubscriptionWithSecret"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                /** @description The token may not subscribe to the topic, or (`quota.exceeded`) the tenant holds its quota of subscriptions or poll subscriptions. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        /** Read a subscription */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The subscription. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Subscription"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        /** Delete a subscription */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted. */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        options?: never;
        head?: never;
        /** Change a subscription */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["SubscriptionPatch"];
                };
            };
            responses: {
                /** @description Changed. A new url starts a new ownership check where it is required. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Subscription"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                403: components["responses"]["Forbidden"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        trace?: never;
    };
    "/v1/subscriptions/{id}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Stop delivering (messages wait) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Paused. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Subscription"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Deliver again, including what waited */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Active, or pending_verification when an unverified endpoint must pass the check first. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Subscription"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** New signing secret (the old one signs beside it for 24 h) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The subscription with its new secret. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SubscriptionWithSecret"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/verify": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run the endpoint ownership check now */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The subscription after the check: `verifiedAt` on success, `verificationError` otherwise. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Subscription"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/test-filter": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Would this payload pass the filter? */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["TestFilterRequest"];
                };
            };
            responses: {
                /** @description Whether it matches. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TestFilterResult"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/replay": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send a window of retained messages again */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ReplayRequest"];
                };
            };
            responses: {
                /** @description dryRun: what would be sent. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ReplayResult"];
                    };
                };
                /** @description The deliveries are due; the scheduler enqueues them. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ReplayResult"];
                    };
                };
                /** @description Invalid, or more than 100000 messages in the window (replay.too_many). */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        /** List a subscription's deliveries */
        get: {
            parameters: {
                query?: {
                    status?: components["schemas"]["DeliveryStatus"];
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["DeliveryList"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        /** Poll: fetch messages */
        get: {
            parameters: {
                query?: {
                    max?: number;
                    /** @description Long-poll up to this many seconds. */
                    wait?: number;
                };
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Up to `max` messages, each with an ack id. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PolledMessages"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                409: components["responses"]["Conflict"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Poll: acknowledge handed-out messages */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AckRequest"];
                };
            };
            responses: {
                /** @description All settled. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SettleResults"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                409: components["responses"]["Conflict"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/nack": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription id (`sub_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Poll: hand messages back (after delayMs) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A subscription id (`sub_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["NackRequest"];
                };
            };
            responses: {
                /** @description All settled. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SettleResults"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                409: components["responses"]["Conflict"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/deliveries/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A delivery id (`dlv_…`). */
                id: string;
            };
            cookie?: never;
        };
        /** A delivery with every attempt */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A delivery id (`dlv_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The delivery. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Delivery"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/deliveries/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A delivery id (`dlv_…`). */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send a failed, dead or delivered delivery again now (one more attempt) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description A delivery id (`dlv_…`). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Pending: the next attempt continues the numbering. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["DeliverySummary"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                404: components["responses"]["NotFound"];
                409: components["responses"]["Conflict"];
                500: components["responses"]["Internal"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/portal/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A short-lived, single-use link into the consumer portal for one subject (admin) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["PortalSessionRequest"];
                };
            };
            responses: {
                /** @description The link to hand to the customer. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PortalLink"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                403: components["responses"]["Forbidden"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/portal/exchange": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Spend a portal link's code for a session token (no bearer token: the code is the credential) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["PortalExchange"];
                };
            };
            responses: {
                /** @description The session. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PortalSession"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                500: components["responses"]["Internal"];
                503: components["responses"]["Unavailable"];
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenant/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's tenant settings */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Effective settings. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TenantSettings"];
                    };
                };
                401: components["responses"]["Unauthorized"];
                500: components["responses"]["Internal"];
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Change the caller's tenant settings (admin) */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["TenantSettingsPatch"];
                };
            };
            responses: {
                /** @description Effective settings. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TenantSettings"];
                    };
                };
                400: components["responses"]["BadRequest"];
                401: components["responses"]["Unauthorized"];
                403: components["responses"]["Forbidden"];
                500: components["responses"]["Internal"];
            };
        };
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description RFC 9457 problem details; `code` is a stable string to branch on. */
        Problem: {
            /** Format: uri */
            type: string;
            title: string;
            status: number;
            detail: string;
            code: string;
            instance?: string;
            requestId?: string;
            /** @description Present on some problems only: `{path, message}` per wrong field of a body that failed validation, `{index, problem, detail}` per refused ack id of an ack or nack. */
            errors?: ({
                path: string;
                message: string;
            } | {
                index: number;
                /** @enum {string} */
                problem: "malformed" | "forged" | "wrong_subscription" | "expired";
                detail: string;
            })[];
        } & {
            [key: string]: unknown;
        };
        Liveness: {
            /** @constant */
            status: "ok";
        };
        Readiness: {
            /** @enum {string} */
            status: "ready" | "unavailable";
            checks: {
                [key: string]: boolean;
            };
        };
        /** @description A subscription shows the fields of its type only. */
        Subscription: components["schemas"]["WebhookSubscription"] | components["schemas"]["PollSubscription"];
        WebhookSubscription: {
            id: string;
            /** @description Topic pattern: `*` is one token, a final `>` the rest. */
            topic: string;
            /**
             * @description `pending_verification`: the endpoint has not yet echoed the ownership challenge; deliveries wait.
             * @enum {string}
             */
            status: "active" | "paused" | "disabled" | "pending_verification";
            disabledReason?: string;
            ordered: boolean;
            filter?: components["schemas"]["Filter"];
            description?: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** @constant */
            type: "webhook";
            /** Format: uri */
            url: string;
            retry: {
                maxAttempts: number;
                initialDelayMs: number;
                maxDelayMs: number;
                multiplier: number;
            };
            timeoutMs: number;
            /** @description Deliveries of this subscription in flight at once (enforced per dispatcher process). Default 100. */
            maxInFlight: number;
            /** @description Absent: no limit. */
            rateLimit?: number;
            /** @description HTTP status codes that end a delivery as dead at once instead of being retried. Default [410]. */
            permanentFailureStatuses: number[];
            /**
             * Format: date-time
             * @description When the endpoint at `url` last echoed the ownership challenge.
             */
            verifiedAt?: string;
            /** @description Why the latest ownership check failed. */
            verificationError?: string;
            /** @description Webhooks: the endpoint's health as the dispatchers see it. */
            health: {
                /**
                 * @description The endpoint's circuit breaker.
                 * @enum {string}
                 */
                state: "closed" | "open" | "half_open";
                /** Format: date-time */
                since?: string;
                reason?: string;
                /** Format: date-time */
                failingSince?: string;
                /** Format: date-time */
                nextProbeAt?: string;
                /** @description Recent transitions, newest first. */
                history: {
                    /** Format: date-time */
                    at: string;
                    event: string;
                    /** @enum {string} */
                    state: "closed" | "open" | "half_open";
                    reason?: string;
                }[];
            };
        };
        PollSubscription: {
            id: string;
            /** @description Topic pattern: `*` is one token, a final `>` the rest. */
            topic: string;
            /**
             * @description `pending_verification`: the endpoint has not yet echoed the ownership challenge; deliveries wait.
             * @enum {string}
             */
            status: "active" | "paused" | "disabled" | "pending_verification";
            disabledReason?: string;
            ordered: boolean;
            filter?: components["schemas"]["Filter"];
            description?: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** @constant */
            type: "poll";
            /** @description How long a handed-out message waits for its ack before it is handed out again. */
            ackTimeoutMs: number;
            /** @description Hand-outs of one message before it is dropped. */
            maxAttempts: number;
            /** @description Session subscriptions: deleted once not polled for this long. */
            expireAfterIdleMs?: number;
            /**
             * Format: date-time
             * @description Session subscriptions: when it is deleted unless polled before; each poll moves it.
             */
            expiresAt?: string;
        };
        SubscriptionWithSecret: {
            id: string;
            /** @description Topic pattern: `*` is one token, a final `>` the rest. */
            topic: string;
            /**
             * @description `pending_verification`: the endpoint has not yet echoed the ownership challenge; deliveries wait.
             * @enum {string}
             */
            status: "active" | "paused" | "disabled" | "pending_verification";
            disabledReason?: string;
            ordered: boolean;
            filter?: components["schemas"]["Filter"];
            description?: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** @constant */
            type: "webhook";
            /** Format: uri */
            url: string;
            retry: {
                maxAttempts: number;
                initialDelayMs: number;
                maxDelayMs: number;
                multiplier: number;
            };
            timeoutMs: number;
            /** @description Deliveries of this subscription in flight at once (enforced per dispatcher process). Default 100. */
            maxInFlight: number;
            /** @description Absent: no limit. */
            rateLimit?: number;
            /** @description HTTP status codes that end a delivery as dead at once instead of being retried. Default [410]. */
            permanentFailureStatuses: number[];
            /**
             * Format: date-time
             * @description When the endpoint at `url` last echoed the ownership challenge.
             */
            verifiedAt?: string;
            /** @description Why the latest ownership check failed. */
            verificationError?: string;
            /** @description Webhooks: the endpoint's health as the dispatchers see it. */
            health: {
                /**
                 * @description The endpoint's circuit breaker.
                 * @enum {string}
                 */
                state: "closed" | "open" | "half_open";
                /** Format: date-time */
                since?: string;
                reason?: string;
                /** Format: date-time */
                failingSince?: string;
                /** Format: date-time */
                nextProbeAt?: string;
                /** @description Recent transitions, newest first. */
                history: {
                    /** Format: date-time */
                    at: string;
                    event: string;
                    /** @enum {string} */
                    state: "closed" | "open" | "half_open";
                    reason?: string;
                }[];
            };
            /** @description The signing secret; shown only here. */
            secret: string;
            /**
             * Format: date-time
             * @description Until when the rotated-out secret still signs (rotate-secret only).
             */
            previousSecretExpiresAt?: string;
        } | components["schemas"]["PollSubscription"];
        SubscriptionList: {
            items: components["schemas"]["Subscription"][];
            next: string | null;
        };
        /** @enum {string} */
        DeliveryStatus: "pending" | "failed" | "succeeded" | "dead";
        DeliverySummary: {
            id: string;
            messageId: string;
            subscriptionId: string;
            status: components["schemas"]["DeliveryStatus"];
            attemptCount: number;
            lastStatusCode?: number;
            lastError?: string;
            /**
             * Format: date-time
             * @description When a parked retry is due.
             */
            nextAttemptAt?: string;
            /**
             * @description Waiting until its subscription is resumed or verified.
             * @constant
             */
            parked?: true;
            /** @description Present while an attempt has been sent and its result is not recorded yet. */
            inFlight?: {
                /** @description The attempt out at the endpoint (its hookline-attempt header). */
                attempt: number;
                /**
                 * Format: date-time
                 * @description When it went out.
                 */
                since: string;
                /** @description The dispatcher process sending it has stopped (crash, kill): another takes the job over within HOOKLINE_ACK_WAIT_S of its last sign of life, records this attempt as interrupted and sends the next. */
                awaitingTakeover: boolean;
            };
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
        };
        DeliveryList: {
            items: components["schemas"]["DeliverySummary"][];
            next: string | null;
        };
        Attempt: {
            n: number;
            /**
             * @description succeeded: a 2xx. failed: any other answer, a timeout or a network error. interrupted: the process sending it stopped before recording a result, so whether the endpoint received it is unknown; the next attempt follows at once.
             * @enum {string}
             */
            outcome: "succeeded" | "failed" | "interrupted";
            /** Format: date-time */
            startedAt: string;
            durationMs: number;
            statusCode?: number;
            error?: string;
            responseExcerpt?: string;
        };
        Delivery: {
            id: string;
            messageId: string;
            subscriptionId: string;
            status: components["schemas"]["DeliveryStatus"];
            attemptCount: number;
            lastStatusCode?: number;
            lastError?: string;
            /**
             * Format: date-time
             * @description When a parked retry is due.
             */
            nextAttemptAt?: string;
            /**
             * @description Waiting until its subscription is resumed or verified.
             * @constant
             */
            parked?: true;
            /** @description Present while an attempt has been sent and its result is not recorded yet. */
            inFlight?: {
                /** @description The attempt out at the endpoint (its hookline-attempt header). */
                attempt: number;
                /**
                 * Format: date-time
                 * @description When it went out.
                 */
                since: string;
                /** @description The dispatcher process sending it has stopped (crash, kill): another takes the job over within HOOKLINE_ACK_WAIT_S of its last sign of life, records this attempt as interrupted and sends the next. */
                awaitingTakeover: boolean;
            };
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            attempts: components["schemas"]["Attempt"][];
        };
        Message: {
            id: string;
            topic: string;
            /** Format: date-time */
            publishedAt: string;
            /** @description The payload as published; null once retention dropped it. */
            data: unknown;
            /** @description Admins see every delivery in their tenant; others only those of subscriptions they own. */
            deliveries: components["schemas"]["DeliverySummary"][];
            /** @description Every delivery listed succeeded or is dead. */
            settled: boolean;
        };
        Published: {
            id: string;
            topic: string;
            /** Format: date-time */
            publishedAt: string;
        };
        BatchPublished: {
            ids: string[];
            topic: string;
            /** Format: date-time */
            publishedAt: string;
        };
        /** @description Deliveries by state, from one snapshot: the four add up to total. */
        StateCounts: {
            pending: number;
            failed: number;
            succeeded: number;
            dead: number;
            total: number;
        };
        /** @description Webhook attempts in whole minutes: the current one and the 59 (1,439) before it. */
        StatsWindow: {
            attempts: number;
            succeeded: number;
            failed: number;
            /** @description succeeded / attempts; null without attempts. */
            successRate: number | null;
        };
        LastFailure: {
            /** Format: date-time */
            at: string;
            error: string | null;
            statusCode: number | null;
        } | null;
        /** @description The endpoint's circuit breaker (without its history). */
        Breaker: {
            /** @enum {string} */
            state: "closed" | "open" | "half_open";
            /** Format: date-time */
            since?: string;
            reason?: string;
            /** Format: date-time */
            failingSince?: string;
            /** Format: date-time */
            nextProbeAt?: string;
        };
        SubscriptionStats: {
            subscriptionId: string;
            counts: components["schemas"]["StateCounts"];
            lastHour: components["schemas"]["StatsWindow"];
            lastDay: components["schemas"]["StatsWindow"];
            lastSuccessAt: string | null;
            lastFailure: components["schemas"]["LastFailure"];
            /** @description The last hour's attempt durations, estimated from a histogram; null without attempts. */
            latencyMs: {
                p50: number;
                p95: number;
            } | null;
            /** @description null for poll subscriptions. */
            breaker: components["schemas"]["Breaker"] | null;
        };
        TenantStats: {
            counts: components["schemas"]["StateCounts"];
            lastHour: components["schemas"]["StatsWindow"];
            lastDay: components["schemas"]["StatsWindow"];
            /** @description The last 60 minutes, oldest first: messages published (that the caller may read) and deliveries created. */
            perMinute: {
                /** Format: date-time */
                minute: string;
                messages: number;
                deliveries: number;
            }[];
            /** @description Webhooks whose breaker is not closed, whose failures run unbroken, or that are disabled. */
            failingSubscriptions: {
                id: string;
                topic: string;
                url: string | null;
                status: string;
                breaker: components["schemas"]["Breaker"];
                lastFailure: components["schemas"]["LastFailure"];
            }[];
        };
        MessagePage: {
            items: {
                id: string;
                topic: string;
                /** Format: date-time */
                publishedAt: string;
                deliveries: components["schemas"]["StateCounts"];
                settled: boolean;
            }[];
            next: string | null;
        };
        MessageSummary: {
            /** @description Distinct ids asked about. */
            total: number;
            /** @description Of those, messages whose every delivery has succeeded or is dead. */
            settled: number;
            counts: components["schemas"]["StateCounts"];
            /** @description Ids not known (not routed yet, another tenant's, or out of the caller's grants). */
            missing: string[];
        };
        PolledMessages: {
            messages: {
                id: string;
                topic: string;
                /** Format: date-time */
                publishedAt: string;
                data: unknown;
                ackId: string;
                attempt: number;
            }[];
        };
        SettleResults: {
            results: {
                ackId: string;
                messageId: string;
                /** @enum {string} */
                status: "acked" | "nacked";
            }[];
        };
        TestFilterResult: {
            matches: boolean;
        };
        ReplayResult: {
            dryRun: boolean;
            /** @description Messages (to be) sent again: created + resent. */
            count: number;
            /** @description Deliveries created for messages the subscription never had one for. */
            created: number;
            /** @description Existing deliveries made due again. */
            resent: number;
            /** @description Matching messages already on their way (not sent twice). */
            alreadyPending: number;
            /** @description Matching messages the stream no longer holds. */
            notRetained: number;
            /** Format: date-time */
            since: string;
            /** Format: date-time */
            until: string;
        };
        TenantSettings: {
            tenant: string;
            /** @description Whether new and re-pointed webhook endpoints must pass the ownership check. */
            verifyEndpoints: boolean;
            /** @enum {string} */
            verifyEndpointsSource: "tenant" | "default";
            /** @description What the tenant may hold at once: live subscriptions, poll subscriptions, open SSE streams plus WebSockets. */
            quotas: {
                subscriptions: components["schemas"]["Quota"];
                pollSubscriptions: components["schemas"]["Quota"];
                streams: components["schemas"]["Quota"];
            };
            /** Format: date-time */
            updatedAt?: string;
        };
        Quota: {
            limit: number;
            /**
             * @description The tenant's override, or the installation default (HOOKLINE_TENANT_MAX_*).
             * @enum {string}
             */
            source: "tenant" | "default";
        };
        PortalLink: {
            /** @description Single-use link into /portal; the code is in the fragment, so no server logs it. */
            url: string;
            /** Format: date-time */
            expiresAt: string;
        };
        PortalSession: {
            /** @description A JWT limited to the subject's subscriptions on the topics: `subscribe:` grants only, no publish, no admin. */
            token: string;
            /** Format: date-time */
            expiresAt: string;
            tenant: string;
            subject: string;
            topics: string[];
        };
        SubscriptionCreate: {
            /** @description Topic pattern: `*` is one token, a final `>` the rest. */
            topic: string;
            /**
             * @default webhook
             * @enum {string}
             */
            type?: "webhook" | "poll";
            /** @description Webhook target: http(s), not a private address. */
            url?: string;
            /** @description Bring your own signing secret; one is generated otherwise. */
            secret?: string;
            retry?: {
                maxAttempts?: number;
                initialDelayMs?: number;
                maxDelayMs?: number;
                multiplier?: number;
            };
            /** @default 10000 */
            timeoutMs?: number;
            /** @default false */
            ordered?: boolean;
            description?: string;
            filter?: components["schemas"]["Filter"] | null;
            /** @description Deliveries of this subscription in flight at once (enforced per dispatcher process). Default 100. */
            maxInFlight?: number;
            rateLimit?: number | null;
            /** @description HTTP status codes that end a delivery as dead at once instead of being retried. Default [410]. */
            permanentFailureStatuses?: number[];
            ackTimeoutMs?: number;
            maxAttempts?: number;
            /** @description Poll: a session subscription, deleted with its cursor once nobody has polled it for this long (`hookline listen` sets it). */
            expireAfterIdleMs?: number;
            /** @description Poll: start with the retained messages after this stream sequence, or published at or after this time, instead of from now on. */
            since?: number | string;
        };
        SubscriptionPatch: {
            /** @description Topic pattern: `*` is one token, a final `>` the rest. */
            topic?: string;
            url?: string;
            retry?: {
                maxAttempts?: number;
                initialDelayMs?: number;
                maxDelayMs?: number;
                multiplier?: number;
            };
            timeoutMs?: number;
            ordered?: boolean;
            description?: string | null;
            /** @description null removes the filter. */
            filter?: components["schemas"]["Filter"] | null;
            maxInFlight?: number | null;
            rateLimit?: number | null;
            permanentFailureStatuses?: number[] | null;
            ackTimeoutMs?: number;
            maxAttempts?: number;
        };
        BatchRequest: {
            messages: unknown[];
        };
        MessageSummaryRequest: {
            ids: string[];
        };
        AckRequest: {
            ackIds: string[];
            attempts?: components["schemas"]["AttemptReports"];
        };
        NackRequest: {
            ackIds: string[];
            attempts?: components["schemas"]["AttemptReports"];
            delayMs?: number;
        };
        /** @description What the poller did with each message when it passed it on (as `hookline listen` does): each becomes the attempt of that hand-out in the delivery's attempt log (`GET /v1/deliveries/{id}`). */
        AttemptReports: {
            /** @description One of ackIds. */
            ackId: string;
            durationMs: number;
            statusCode?: number;
            error?: string;
            responseExcerpt?: string;
        }[];
        TestFilterRequest: {
            /** @description Try this filter instead of the saved one. */
            filter?: components["schemas"]["Filter"] | null;
            /** @description A sample message payload (any JSON). */
            payload: unknown;
        };
        ReplayRequest: {
            /**
             * Format: date-time
             * @description Start of the window (inclusive), by publish time.
             */
            since: string;
            /**
             * Format: date-time
             * @description End of the window (exclusive); default now. The window spans at most 31 days.
             */
            until?: string;
            /**
             * @description Only messages whose delivery is in this state.
             * @enum {string}
             */
            status?: "failed" | "succeeded" | "dead";
            /**
             * @description Count, send nothing.
             * @default false
             */
            dryRun?: boolean;
        };
        PortalSessionRequest: {
            /** @description Defaults to the caller's tenant; another tenant is refused. */
            tenant?: string;
            /** @description The principal (`sub`) whose subscriptions the portal shows and creates. */
            subject: string;
            /** @description Topic patterns the session may see and subscribe to. */
            topics: string[];
            /**
             * @description Seconds the link stays valid unopened.
             * @default 600
             */
            ttl?: number;
            /**
             * @description Seconds the session lasts once opened.
             * @default 3600
             */
            sessionTtl?: number;
        };
        PortalExchange: {
            /** @description The code after `#code=` in the link. */
            code: string;
        };
        TenantSettingsPatch: {
            /** @description null: back to the installation default. */
            verifyEndpoints?: boolean | null;
            quotas?: {
                /** @description null: back to the installation default. */
                subscriptions?: number | null;
                /** @description null: back to the installation default. */
                pollSubscriptions?: number | null;
                /** @description null: back to the installation default. */
                streams?: number | null;
            };
        };
        /** @description Dot-separated keys into the payload (at most 16); a decimal segment also indexes an array. */
        FilterPath: string;
        FilterScalar: string | number | boolean | null;
        /** @description A payload filter: a condition, or and/or/not of filters. At most 8 levels deep, 64 nodes and 8192 bytes. A condition on an absent path is false. */
        Filter: {
            path: components["schemas"]["FilterPath"];
            eq: components["schemas"]["FilterScalar"];
        } | {
            path: components["schemas"]["FilterPath"];
            in: components["schemas"]["FilterScalar"][];
        } | {
            path: components["schemas"]["FilterPath"];
            gt: number;
        } | {
            path: components["schemas"]["FilterPath"];
            gte: number;
        } | {
            path: components["schemas"]["FilterPath"];
            lt: number;
        } | {
            path: components["schemas"]["FilterPath"];
            lte: number;
        } | {
            path: components["schemas"]["FilterPath"];
            exists: boolean;
        } | {
            and: components["schemas"]["Filter"][];
        } | {
            or: components["schemas"]["Filter"][];
        } | {
            not: components["schemas"]["Filter"];
        };
    };
    responses: {
        /** @description The request is invalid; `errors` lists field-level problems. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No valid bearer token. */
        Unauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The token's grants do not cover this. */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No such resource for this principal. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The resource is not in a state that allows this. */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The body exceeds the limit. */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Send application/json. */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `quota.exceeded`: the tenant holds its quota of open streams; close one or retry later. */
        TooManyRequests: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A dependency (NATS, Postgres) is unavailable; retry. */
        Unavailable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Something went wrong on our side; the request id identifies it. */
        Internal: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
